"""What the inventory service listens to, and who handles it (twin: orders-orch/inventory/api.py routes)."""
from inventory import handlers

QUEUE = "inventory.events"

HANDLERS = {
    "order.placed": handlers.on_order_placed,
    "payment.declined": handlers.on_payment_declined,
    "payment.refunded": handlers.on_payment_refunded,
    "shipment.booked": handlers.on_shipment_booked,
}

# Every queue of this service with its handlers (what `python -m shared.messaging.topology` declares).
SUBSCRIPTIONS = {QUEUE: HANDLERS}
