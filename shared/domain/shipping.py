"""Book and cancel shipments (the shipping service's rules)."""
import uuid


from shared.domain import rules
from shared.models.base import iso, utcnow
from shared.models.shipping import shipments
from shared.runtime.db import first_row, insert_if_absent, update_where

BOOKED, CANCELLED = "booked", "cancelled"


def book(session, order_id, address):
    """Book one shipment per order; return it, or None when the country is not served."""
    if not rules.can_ship_to(address["country"]):
        return None
    now = utcnow()
    row = {"shipment_id": str(uuid.uuid4()), "order_id": order_id,
           "country": address["country"].upper(), "status": BOOKED,
           "created_at": now, "updated_at": now}
    if not insert_if_absent(session, shipments, row, "order_id"):
        return to_dict(_shipment(session, order_id))  # booked before (or by a racing twin)
    return to_dict(row)


def cancel(session, order_id):
    """Cancel a booked shipment (compensation); return True if this call cancelled it."""
    return update_where(session, shipments, {"order_id": order_id, "status": BOOKED},
                        status=CANCELLED, updated_at=utcnow()) == 1


def _shipment(session, order_id):
    return first_row(session, shipments, order_id=order_id)


def to_dict(row):
    """Return a shipment as the inspection API shows it."""
    return {"shipment_id": row["shipment_id"], "order_id": row["order_id"],
            "country": row["country"], "status": row["status"],
            "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}
