"""The orders service's reactions: settle the order when the saga's last event arrives.

An order is CANCELLED only once its compensations are done (the stock.released event comes
after the refund, if any), and COMPLETED once its stock is committed.
The transaction that settles an order also writes the whole saga so far to its timeline: the
outcome event and every step in its trail (Trade-off 53, shared/messaging/envelope.py). So a final
order's timeline is complete at once, however far behind the tracker is; the tracker writes
the steps of unfinished orders and whatever the outcome causes later, and skips
the steps already written when they reach it (same message id).
Twin: orders-orch/orders/handlers.py, where the orchestrator tells orders the outcome.
"""
from datetime import datetime

from shared.domain import rules
from shared.domain import orders
from shared.messaging.envelope import Envelope, step
from shared.messaging.outbox import add, emit
from shared.models.base import utcnow
from shared.models.orders import timeline
from shared.runtime.db import insert_if_absent_at_commit

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
    if isinstance(order_id, str):
        _record_steps(session, order_id, event.correlation_id, [step(event)])


def _record_steps(session, order_id, correlation_id, steps):
    # Trade-off 51: each row is keyed by its event's message id, so a redelivery inserts
    # nothing, and the tracker's consumer records no message ids of its own (OWN_DEDUP in
    # orders/subscriptions.py): one write fewer per event, about eight per order. The price:
    # the tracker must stay one keyed insert; a second effect would need the dedup row back.
    # The rows go in at the commit, sorted by message id, so the tracker and the settling
    # transaction, which write some of the same rows, never deadlock (Trade-off 54,
    # shared/runtime/db.py).
    insert_if_absent_at_commit(session, timeline, [
        {"order_id": order_id, "message_id": one["message_id"],
         "at": _occurred_at(one["occurred_at"]), "service": one["source"], "name": one["type"],
         "outcome": one["type"].split(".")[-1] + (f": {one['reason']}" if one["reason"] else ""),
         "correlation_id": correlation_id} for one in steps], "message_id")


def _occurred_at(text):
    """When the event happened, by its sender's clock (arrival order can differ)."""
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return utcnow()


def _cancel(session, event, reason):
    data = event.data
    if orders.finish(session, data["order_id"], orders.CANCELLED, reason):
        _settled(session, event, emit(session, event, SERVICE, "order.cancelled",
                                      {"order_id": data["order_id"],
                                       "customer_id": data["customer_id"], "reason": reason}))


def _settled(session, cause, outcome):
    """Write the saga so far to the timeline: the outcome's trail (which ends with `cause`),
    then the outcome itself."""
    _record_steps(session, cause.data["order_id"], outcome.correlation_id,
                  [*outcome.trail, step(outcome)])
