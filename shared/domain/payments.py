"""Charge an order's total and refund it (the payments service's rules)."""
import uuid

from sqlalchemy import insert

from shared.domain import rules
from shared.models.base import iso, utcnow
from shared.models.payments import payments, refunds
from shared.runtime.db import first_row, insert_if_absent, update_where

CAPTURED, REFUNDED, DECLINED = "captured", "refunded", "declined"


def charge(session, order_id, customer_id, amount_cents, currency, card_token):
    """Charge once per order; return the payment (status captured or declined)."""
    decline = rules.payment_decision(card_token, amount_cents)
    now = utcnow()
    row = {"payment_id": str(uuid.uuid4()), "order_id": order_id, "customer_id": customer_id,
           "amount_cents": amount_cents, "currency": currency,
           "status": DECLINED if decline else CAPTURED, "decline_reason": decline,
           "created_at": now, "updated_at": now}
    if not insert_if_absent(session, payments, row, "order_id"):
        return to_dict(_payment(session, order_id))  # charged before (or by a racing twin)
    return to_dict(row)


def refund(session, order_id):
    """Refund a captured payment (compensation); return True if this call refunded it."""
    now = utcnow()
    refunded = update_where(  # only the call that moves it out of CAPTURED refunds it
        session, payments, {"order_id": order_id, "status": CAPTURED},
        status=REFUNDED, updated_at=now)
    if not refunded:
        return False
    payment = _payment(session, order_id)
    session.execute(insert(refunds), {"refund_id": str(uuid.uuid4()),
                                      "payment_id": payment["payment_id"],
                                      "amount_cents": payment["amount_cents"], "created_at": now})
    return True


def _payment(session, order_id):
    return first_row(session, payments, order_id=order_id)


def to_dict(row):
    """Return a payment as the inspection API shows it."""
    return {"payment_id": row["payment_id"], "order_id": row["order_id"],
            "amount_cents": row["amount_cents"], "currency": row["currency"],
            "status": row["status"], "decline_reason": row["decline_reason"],
            "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}
