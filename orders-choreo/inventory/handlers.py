"""Inventory's reactions to events: reserve on a new order, release or commit as the saga ends.

Twin: orders-orch/inventory/handlers.py, where the same rules answer commands instead.
"""
from shared.domain import rules
from shared.domain import inventory
from shared.messaging.outbox import emit

SERVICE = "inventory"


def on_order_placed(session, event):
    """Reserve every line, or none; say which."""
    order = event.data
    if inventory.reserve(session, order["order_id"], order["items"]) == inventory.HELD:
        emit(session, event, SERVICE, "stock.reserved", order)
    else:
        emit(session, event, SERVICE, "stock.rejected", _outcome(order, rules.OUT_OF_STOCK))


def on_payment_declined(session, event):
    """Compensate: the charge failed, so give the stock back."""
    _release(session, event)


def on_payment_refunded(session, event):
    """Compensate: shipping failed and the money went back, so give the stock back too."""
    _release(session, event)


def on_shipment_booked(session, event):
    """The order will complete: held stock becomes sold stock."""
    inventory.commit(session, event.data["order_id"])
    emit(session, event, SERVICE, "stock.committed",
         {"order_id": event.data["order_id"], "customer_id": event.data["customer_id"]})


def _release(session, event):
    # exercise: compensation begin release
    inventory.release(session, event.data["order_id"])
    # exercise: compensation end release
    emit(session, event, SERVICE, "stock.released", _outcome(event.data, event.data["reason"]))


def _outcome(data, reason):
    return {"order_id": data["order_id"], "customer_id": data["customer_id"], "reason": reason}
