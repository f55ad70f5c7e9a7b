"""Shipping's reaction to events: book a shipment when the order is paid.

Twin: orders-orch/shipping/handlers.py, where the same rules answer commands instead.
"""
from shared.domain import rules
from shared.domain import shipping
from shared.messaging.outbox import emit

SERVICE = "shipping"


def on_payment_captured(session, event):
    """Book the shipment, or say the address cannot be served."""
    order = event.data
    shipment = shipping.book(session, order["order_id"], order["shipping_address"])
    if shipment is None:
        emit(session, event, SERVICE, "shipment.rejected",
             {"order_id": order["order_id"], "customer_id": order["customer_id"],
              "reason": rules.SHIPPING_UNAVAILABLE})
    else:
        emit(session, event, SERVICE, "shipment.booked",
             {"order_id": order["order_id"], "customer_id": order["customer_id"],
              "shipment_id": shipment["shipment_id"]})
