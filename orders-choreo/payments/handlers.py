"""Payments' reactions to events: charge when stock is reserved, refund when shipping fails.

Twin: orders-orch/payments/handlers.py, where the same rules answer commands instead.
"""
from shared.domain import rules
from shared.domain import payments
from shared.messaging.outbox import emit

SERVICE = "payments"


def on_stock_reserved(session, event):
    """Charge the order total; say whether it was captured or declined."""
    order = event.data
    payment = payments.charge(session, order["order_id"], order["customer_id"],
                              order["total_cents"], order["currency"], order["card_token"])
    if payment["status"] == payments.DECLINED:
        emit(session, event, SERVICE, "payment.declined",
             _outcome(order, rules.PAYMENT_DECLINED))
    else:
        emit(session, event, SERVICE, "payment.captured",
             {**order, "payment_id": payment["payment_id"]})


def on_shipment_rejected(session, event):
    """Compensate: the order cannot ship, so refund the charge."""
    # exercise: compensation begin refund
    payments.refund(session, event.data["order_id"])
    emit(session, event, SERVICE, "payment.refunded", _outcome(event.data, event.data["reason"]))
    # exercise: compensation end refund


def _outcome(data, reason):
    return {"order_id": data["order_id"], "customer_id": data["customer_id"], "reason": reason}
