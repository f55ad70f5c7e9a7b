"""What the payments service listens to, and who handles it (twin: orders-orch/payments/api.py routes)."""
from payments import handlers

QUEUE = "payments.events"

HANDLERS = {
    "stock.reserved": handlers.on_stock_reserved,
    "shipment.rejected": handlers.on_shipment_rejected,
}

# Every queue of this service with its handlers (what `python -m shared.messaging.topology` declares).
SUBSCRIPTIONS = {QUEUE: HANDLERS}
