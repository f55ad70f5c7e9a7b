"""What the orders service listens to (twin: orders-orch/orders/api.py routes).

Two queues: the outcome events that settle an order, and the tracker, bound to every event
("#") so that GET /orders/<id>/timeline can show a saga no single service drives.
"""
from orders import handlers

QUEUE = "orders.outcomes"
TRACKER_QUEUE = "orders.tracker"

HANDLERS = {
    "stock.rejected": handlers.on_stock_rejected,
    "stock.released": handlers.on_stock_released,
    "stock.committed": handlers.on_stock_committed,
}

# Trade-off 8: no process holds the saga, so to answer "where is order X" someone must listen
# to every event ("#") and keep its own copy of the story; it is only as complete as the
# events services chose to publish (C4).
TRACKER_HANDLERS = {"#": handlers.record_in_timeline}

# Every queue of this service with its handlers (what `python -m shared.messaging.topology` declares).
SUBSCRIPTIONS = {QUEUE: HANDLERS, TRACKER_QUEUE: TRACKER_HANDLERS}
