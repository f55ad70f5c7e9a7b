"""Payments' command handlers: charge the order total, refund it on compensation.

Twin: orders-choreo/payments/handlers.py, where the same rules react to events instead.
"""
from shared.domain import rules
from shared.domain import payments
from commands.idempotency import rejected, require


def charge_payment(session, command):
    """Charge once per order; 409 payment_declined when the card or the credit limit refuses."""
    require(command, order_id=str, customer_id=str, amount_cents=int, currency=str,
            card_token=str)
    payment = payments.charge(session, command["order_id"], command["customer_id"],
                              command["amount_cents"], command["currency"],
                              command["card_token"])
    if payment["status"] == payments.DECLINED:
        return rejected(rules.PAYMENT_DECLINED, f"declined: {payment['decline_reason']}")
    return 201, payment


def refund_payment(session, _command, order_id):
    """Compensate: refund the captured charge (a no-op when there is none)."""
    return 200, {"order_id": order_id, "refunded": payments.refund(session, order_id)}
