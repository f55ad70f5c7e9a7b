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
# Trade-off 50: the tracker takes up to 64 unacked events per consumer (the other queues take
# PREFETCH_COUNT, 8), and so applies them in batches of up to 64 (Trade-off 18). It gets every
# event of every order, about eight per order, and in batches of eight it fell behind under
# load (`make bench`: 7,000 events still queued when the last order turned final, 5.5 s to
# drain; with 64: about 500, half a second). The cost: a tracker that dies hands up to 64
# events back for redelivery at once, and one failing event sends a bigger batch through the
# one-by-one path.
TRACKER_PREFETCH = 64
# The tracker runs 2 consumers, not CONCURRENCY (Trade-off 71, service_worker.py): it is
# bookkeeping, a read model no step of any order waits for, not the service's work. Each of its
# batches is one write transaction on the orders database, so 16 tracker consumers would only
# queue on that database's write lock ahead of the outcome consumers that settle orders; 2,
# with 64 each, is what kept up in the measurement of Trade-off 50.
TRACKER_CONSUMERS = 2
# The tracker's handler drops a redelivered event by itself (its timeline row is keyed by the
# message id), so its consumers record no message ids (Trade-off 51, orders/handlers.py).
OWN_DEDUP = {TRACKER_QUEUE}
# Trade-off 52: the tracker's deliveries make no spans. It hears every event, about eight per
# order, and traced it made two spans each, half of an order's trace, every one a leaf that
# caused nothing. The price: a trace no longer shows how late the tracker heard an event.
UNTRACED = {TRACKER_QUEUE}

# Every queue of this service with its handlers (what `python -m shared.messaging.topology` declares).
SUBSCRIPTIONS = {QUEUE: HANDLERS, TRACKER_QUEUE: TRACKER_HANDLERS}
