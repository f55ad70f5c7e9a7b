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

TRACKER_HANDLERS = {"#": handlers.record_in_timeline}
