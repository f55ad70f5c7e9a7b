"""What the shipping service listens to, and who handles it (twin: orders-orch/shipping/api.py routes)."""
from shipping import handlers

QUEUE = "shipping.events"

HANDLERS = {
    "payment.captured": handlers.on_payment_captured,
}

# Every queue of this service with its handlers (what `python -m shared.messaging.topology` declares).
SUBSCRIPTIONS = {QUEUE: HANDLERS}
