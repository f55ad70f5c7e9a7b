"""Shipping's command handlers: book a shipment, cancel it on compensation.

Twin: orders-choreo/shipping/handlers.py, where the same rules react to events instead.
"""
from shared.domain import rules
from shared.domain import shipping
from commands.idempotency import rejected, require


def book_shipment(session, command):
    """Book one shipment per order; 409 shipping_unavailable for a country not served."""
    require(command, order_id=str, destination=dict)
    require(command["destination"], country=str)
    shipment = shipping.book(session, command["order_id"], command["destination"])
    if shipment is None:
        return rejected(rules.SHIPPING_UNAVAILABLE, "this country is not served")
    return 201, shipment


def cancel_shipment(session, _command, order_id):
    """Compensate: cancel the booked shipment (a no-op when there is none)."""
    return 200, {"order_id": order_id, "cancelled": shipping.cancel(session, order_id)}
