"""Tell the customer the outcome of an order, exactly once (the notifications service's rules)."""
import logging
import uuid


from shared.models.base import iso, utcnow
from shared.models.notifications import notifications
from shared.runtime.db import first_row, insert_if_absent

log = logging.getLogger(__name__)


def notify(session, order_id, customer_id, outcome, reason=None):
    """Record the outcome notification of an order once; return (notification, sent_now)."""
    row = {"notification_id": str(uuid.uuid4()), "order_id": order_id,
           "customer_id": customer_id, "outcome": outcome, "reason": reason,
           "sent_at": utcnow()}
    if not insert_if_absent(session, notifications, row, "order_id"):
        existing = first_row(session, notifications, order_id=order_id)
        return to_dict(existing), False
    # A real service would send an e-mail here; the row is the proof that it was sent once.
    log.info("notified %s that order %s is %s", customer_id, order_id, outcome)
    return to_dict(row), True


def to_dict(row):
    """Return a notification as the inspection API shows it."""
    return {"notification_id": row["notification_id"], "order_id": row["order_id"],
            "customer_id": row["customer_id"], "outcome": row["outcome"],
            "reason": row["reason"], "sent_at": iso(row["sent_at"])}
