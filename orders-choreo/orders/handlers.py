"""The orders service's reactions: settle the order when the saga's last event arrives.

An order is CANCELLED only once its compensations are done (the stock.released event comes
after the refund, if any), and COMPLETED once its stock is committed.
The transaction that settles an order also writes the settling event and the order's own
outcome event to its timeline, so the timeline never shows less than the status does; the
tracker writes every other event (and skips those two when they reach it: same message id).
Twin: orders-orch/orders/handlers.py, where the orchestrator tells orders the outcome.
"""
from datetime import datetime

from shared import rules
from shared.db import insert_if_absent
from shared.domain import orders
from shared.envelope import Envelope
from shared.messaging.outbox import add, emit
from shared.models.base import utcnow
from shared.models.orders import timeline

SERVICE = "orders"


def on_order_stored(session, order, correlation_id):
    """Announce a new order (called by the API in the transaction that stored it)."""
    add(session, Envelope(type="order.placed", version=1, source=SERVICE,
                          correlation_id=correlation_id, data=orders.saga_facts(order)))


def on_stock_rejected(session, event):
    """Nothing was reserved, so nothing to compensate: cancel now."""
    _cancel(session, event, rules.OUT_OF_STOCK)


def on_stock_released(session, event):
    """The last compensation is done: cancel with the reason the saga failed."""
    _cancel(session, event, event.data["reason"])


def on_stock_committed(session, event):
    """Stock is sold and the shipment booked: the order is complete."""
    data = event.data
    if orders.finish(session, data["order_id"], orders.COMPLETED):
        order = orders.get(session, data["order_id"])
        _settled(session, event, emit(session, event, SERVICE, "order.completed",
                                      {"order_id": data["order_id"],
                                       "customer_id": data["customer_id"],
                                       "total_cents": order["total_cents"]}))


def record_in_timeline(session, event):
    """Tracker: write every event of every saga to the order's timeline, once."""
    order_id = event.data.get("order_id")
    if not isinstance(order_id, str):
        return
    reason = event.data.get("reason")
    # Trade-off 51: the row is keyed by the event's message id, so a redelivery inserts
    # nothing, and the tracker's consumer records no message ids of its own (OWN_DEDUP in
    # orders/subscriptions.py): one write fewer per event, about eight per order. The price:
    # this handler must stay one keyed insert; a second effect would need the dedup row back.
    insert_if_absent(session, timeline, {
        "order_id": order_id, "message_id": event.message_id, "at": _occurred_at(event),
        "service": event.source, "name": event.type,
        "outcome": event.type.split(".")[-1] + (f": {reason}" if reason else ""),
        "correlation_id": event.correlation_id}, "message_id")


def _occurred_at(event):
    """When the event happened, by its sender's clock (arrival order can differ)."""
    try:
        return datetime.fromisoformat(event.occurred_at)
    except (TypeError, ValueError):
        return utcnow()


def _cancel(session, event, reason):
    data = event.data
    if orders.finish(session, data["order_id"], orders.CANCELLED, reason):
        _settled(session, event, emit(session, event, SERVICE, "order.cancelled",
                                      {"order_id": data["order_id"],
                                       "customer_id": data["customer_id"], "reason": reason}))


def _settled(session, cause, outcome):
    record_in_timeline(session, cause)
    record_in_timeline(session, outcome)
