"""Every event every choreographed service consumes is a no-op the second time it arrives.

Delivery is at-least-once, so each handler is driven through the real consumer's apply step
on a real SQLite database: once after the saga state it expects, then again with the same
message, and the second delivery must leave every table exactly as it was.
"""
import subprocess
import sys

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from shared.domain import inventory, orders
from shared.http.validation import PlaceOrder
from shared.messaging.consumer import Consumer
from shared.messaging.envelope import Envelope
from shared.models import inventory as inventory_models
from shared.models import notifications, orders as orders_models, payments, plumbing, shipping
from shared.runtime import config
from shared.runtime.db import make_engine, make_session_factory, transaction
from tests.support import ADDRESS, ROOT, choreo_modules

METADATA = {"orders": orders_models.metadata, "inventory": inventory_models.metadata,
            "payments": payments.metadata, "shipping": shipping.metadata,
            "notifications": notifications.metadata}


def _facts(order_id, country="DE", card="tok_visa"):
    return {"order_id": order_id, "customer_id": "cust", "total_cents": 2500, "currency": "EUR",
            "items": [{"sku": "MUG-RED", "quantity": 2, "unit_price_cents": 1250}],
            "card_token": card, "shipping_address": dict(ADDRESS, country=country)}


def _outcome(order_id, reason):
    return {"order_id": order_id, "customer_id": "cust", "reason": reason}


# service -> event type -> (events that set the state up first, data of the duplicated event)
CASES = {
    ("inventory", "order.placed"): ([], _facts("O")),
    ("inventory", "payment.declined"): ([("order.placed", _facts("O"))],
                                        _outcome("O", "payment_declined")),
    ("inventory", "payment.refunded"): ([("order.placed", _facts("O"))],
                                        _outcome("O", "shipping_unavailable")),
    ("inventory", "shipment.booked"): ([("order.placed", _facts("O"))],
                                       {"order_id": "O", "customer_id": "cust",
                                        "shipment_id": "S"}),
    ("payments", "stock.reserved"): ([], _facts("O")),
    ("payments", "shipment.rejected"): ([("stock.reserved", _facts("O"))],
                                        _outcome("O", "shipping_unavailable")),
    ("shipping", "payment.captured"): ([], dict(_facts("O"), payment_id="P")),
    ("orders", "stock.rejected"): ([], _outcome("ORDER", "out_of_stock")),
    ("orders", "stock.released"): ([], _outcome("ORDER", "payment_declined")),
    ("orders", "stock.committed"): ([], {"order_id": "ORDER", "customer_id": "cust"}),
    ("notifications", "order.completed"): ([], {"order_id": "O", "customer_id": "cust",
                                                "total_cents": 2500}),
    ("notifications", "order.cancelled"): ([], _outcome("O", "out_of_stock")),
}


class _NoBroker:
    """Stands in for the broker connection: apply() only asks it to sleep (fault latency)."""

    @staticmethod
    def sleep(seconds):
        return None


def _dump(sessions, metadata):
    with sessions() as session:
        return {table.name: sorted(map(repr, session.execute(select(table)).all()))
                for meta in (metadata, plumbing.metadata) for table in meta.sorted_tables
                if table.name != "heartbeats"}


def _event(event_type, data):
    return Envelope(type=event_type, version=1, source="test", correlation_id="corr", data=data)


def _prepare(service, sessions):
    with transaction(sessions) as session:
        if service == "inventory":
            inventory.seed(session)
        if service == "orders":
            order, _ = orders.place(session, PlaceOrder("cust", [{"sku": "MUG-RED",
                                    "quantity": 2}], "tok_visa", ADDRESS), "corr")
            return order["order_id"]
    return None


def test_the_cases_cover_every_subscription_of_every_choreographed_service():
    covered = {}
    for service, event_type in CASES:
        covered.setdefault(service, set()).add(event_type)
    for service in config.SERVICES:
        with choreo_modules(f"{service}.subscriptions") as (subscriptions,):
            assert set(subscriptions.HANDLERS) == covered[service], service


@pytest.mark.parametrize("service, event_type", list(CASES))
def test_a_second_delivery_of_the_same_event_changes_nothing(database, service, event_type):
    sessions = database(METADATA[service])
    order_id = _prepare(service, sessions)
    with choreo_modules(f"{service}.subscriptions") as (subscriptions,):
        consumer = Consumer(service, "q", subscriptions.HANDLERS, sessions, "amqp://unused")
        consumer.connection = _NoBroker()
        setup, data = CASES[(service, event_type)]
        if order_id:
            data = dict(data, order_id=order_id)
        for setup_type, setup_data in setup:
            consumer.apply(_event(setup_type, setup_data), subscriptions.HANDLERS[setup_type])
        event = _event(event_type, data)
        before = _effects(_dump(sessions, METADATA[service]))
        consumer.apply(event, subscriptions.HANDLERS[event_type])
        after_first = _dump(sessions, METADATA[service])
        consumer.apply(event, subscriptions.HANDLERS[event_type])
        assert _dump(sessions, METADATA[service]) == after_first
    # Compared with the state just before it, not with an empty outbox: the setup's events
    # already wrote rows there, so "the outbox is not empty" proved nothing.
    assert _effects(after_first) != before, "the first delivery must have had an effect"


def _effects(dump):
    """The tables a handler changes: everything but the consumer's own record of message ids."""
    return {name: rows for name, rows in dump.items() if name != "processed_messages"}


# --- A copy delivered to another worker -------------------------------------------------------
# A queue's consumers run in several processes (the workers of a service, a restarted worker):
# the copy of a message whose first delivery died before its ack goes to whichever consumer
# the broker picks. So the record of applied message ids must be where they all look, in the
# service's database; a set in one process's memory misses every copy another process gets.
effects_metadata = MetaData()
effects = Table("effects", effects_metadata,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("order_id", String(40), nullable=False))
COPY = Envelope(type="stock.reserved", version=1, source="test", correlation_id="corr",
                data=_facts("order-copied"), message_id="message-copied")


def _count_effect(session, envelope):
    """A handler with no idempotency of its own: every application adds a row."""
    session.execute(insert(effects), {"order_id": envelope.data["order_id"]})


def _sessions(path):
    return make_session_factory(make_engine(f"sqlite:///{path}"), effects_metadata,
                                plumbing.metadata)


def apply_in_a_worker(path):
    """Apply COPY once through a consumer of this process (run by a subprocess below)."""
    consumer = Consumer("payments", "payments", {COPY.type: _count_effect}, _sessions(path),
                        "amqp://unused")
    consumer.connection = _NoBroker()
    consumer.apply(COPY, _count_effect)


def test_a_copy_that_reaches_another_worker_process_is_dropped_too(tmp_path):
    path = tmp_path / "payments.db"
    _sessions(path)  # the tables, before two processes race to make them
    for _worker in range(2):
        subprocess.run([sys.executable, "-c", "import sys; from tests.integration.test_duplicates"
                        " import apply_in_a_worker; apply_in_a_worker(sys.argv[1])", str(path)],
                       cwd=ROOT, check=True, timeout=60)
    with _sessions(path)() as session:
        assert session.scalar(select(func.count()).select_from(effects)) == 1
