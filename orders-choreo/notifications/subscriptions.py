"""What the notifications service listens to (twin: orders-orch/notifications/api.py routes)."""
from notifications import handlers

QUEUE = "notifications.events"

HANDLERS = {
    "order.completed": handlers.on_order_finished,
    "order.cancelled": handlers.on_order_finished,
}

# Every queue of this service with its handlers (what `python -m shared.messaging.topology` declares).
SUBSCRIPTIONS = {QUEUE: HANDLERS}
