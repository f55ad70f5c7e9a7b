"""What the shipping service listens to, and who handles it (twin: orders-orch/shipping/api.py routes)."""
from shipping import handlers

QUEUE = "shipping.events"

HANDLERS = {
    "payment.captured": handlers.on_payment_captured,
}
