"""Place orders and move them to their final status (the orders service's rules)."""
import hashlib
import json
import uuid

from sqlalchemy import insert

from shared.domain import catalog, rules
from shared.models.base import iso, utcnow
from shared.models.orders import orders
from shared.runtime.db import first_row, insert_if_absent, update_where

PENDING, COMPLETED, CANCELLED = "PENDING", "COMPLETED", "CANCELLED"


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


def request_hash(body):
    """Return a stable hash of a request body, to tell a retry from a different request."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def place(session, command, correlation_id, idempotency_key=None, body_hash=None):
    """Store a new PENDING order priced from the catalog; return (order, created)."""
    row, created = store(session, command, correlation_id, idempotency_key, body_hash)
    return to_dict(row), created


def store(session, command, correlation_id, idempotency_key=None, body_hash=None):
    """place(), returning the stored row itself (card token included): (row, created)."""
    lines = rules.price_lines(command.items)
    now = utcnow()
    row = {
        "order_id": str(uuid.uuid4()), "status": PENDING, "reason": None,
        "customer_id": command.customer_id,
        "items": [line.__dict__ for line in lines],
        "total_cents": rules.order_total(lines), "currency": catalog.CURRENCY,
        "card_token": command.card_token, "shipping_address": command.shipping_address,
        "idempotency_key": idempotency_key, "request_hash": body_hash,
        "correlation_id": correlation_id, "created_at": now, "updated_at": now,
    }
    if not idempotency_key:
        session.execute(insert(orders), row)
        return row, True
    # One statement claims the key: a racing twin request waits for this insert's transaction
    # (PostgreSQL) or for the write lock (SQLite), then finds the key taken and replays.
    if insert_if_absent(session, orders, row, "idempotency_key"):
        return row, True
    existing = first_row(session, orders, idempotency_key=idempotency_key)
    if existing["request_hash"] != body_hash:
        raise IdempotencyConflict(idempotency_key)
    return existing, False


def finish(session, order_id, status, reason=None):
    """Move a PENDING order to COMPLETED or CANCELLED; return True if this call changed it."""
    return update_where(session, orders, {"order_id": order_id, "status": PENDING},
                        status=status, reason=reason, updated_at=utcnow()) == 1


def get(session, order_id):
    """Return one order as the API shows it, or None."""
    row = first_row(session, orders, order_id=order_id)
    return to_dict(row) if row else None


def get_record(session, order_id):
    """Return the full stored row of an order (card token included), or None."""
    return first_row(session, orders, order_id=order_id)


def saga_facts(order_row):
    """Return what the rest of the saga needs to know about an order (internal: has the card)."""
    return {k: order_row[k] for k in ("order_id", "customer_id", "items", "total_cents",
                                      "currency", "card_token", "shipping_address")}


def to_dict(row):
    """Return the public representation of an order (docs/domain.md), without payment details."""
    return {
        "order_id": row["order_id"], "status": row["status"], "reason": row["reason"],
        "customer_id": row["customer_id"], "items": row["items"],
        "total_cents": row["total_cents"], "currency": row["currency"],
        "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"]),
    }
