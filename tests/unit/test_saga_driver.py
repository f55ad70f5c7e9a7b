"""The saga driver against a real SQLite saga store and a fake transport (no HTTP)."""
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

sys.path.append(str(Path(__file__).resolve().parents[2] / "orders-orch"))

from shared.models import plumbing
from shared.runtime.db import make_engine, make_session_factory, transaction  # noqa: E402
from orchestrator import archive, store, tables  # noqa: E402
from orchestrator.driver import Driver  # noqa: E402
from orchestrator.policy import REJECTED, SUCCEEDED, TRANSIENT, Answer  # noqa: E402
from orchestrator.shards import LeaseLost, Leases, shard_of  # noqa: E402
from orchestrator.steps import CANCELLED, COMPENSATING, COMPLETED, RUNNING  # noqa: E402

ORDER = {"order_id": "o-1", "customer_id": "cust-1", "total_cents": 2500, "currency": "EUR",
         "items": [{"sku": "MUG-RED", "quantity": 2, "unit_price_cents": 1250}],
         "card_token": "tok_visa", "shipping_address": {"country": "DE"}}


class FakeServices:
    """Answers each call by its name: a queue of answers per call, success by default."""

    def __init__(self, **queued):
        self.queued, self.calls = queued, []

    def __call__(self, step, call, kind, state, correlation_id):
        self.calls.append(call.name)
        queue = self.queued.get(call.name) or []
        if queue:
            return queue.pop(0)
        body = {"payment_id": "p-1", "amount_cents": 2500} if call.name == "charge_payment" \
            else {"shipment_id": "s-1"}
        return Answer(SUCCEEDED, 201, body)


@pytest.fixture
def sessions(tmp_path):
    """Return a session factory for a fresh orchestrator database, every shard leased to `me`."""
    engine = make_engine(f"sqlite:///{tmp_path / 'orchestrator.db'}")
    factory = make_session_factory(engine, tables.metadata, plumbing.metadata)
    yield factory
    engine.dispose()


@pytest.fixture
def me(sessions):
    """Return the leases of replica `me`, which holds every shard."""
    leases = Leases(sessions, "me", "http://me", "me", 8, 60_000)
    leases.tick()
    return leases


def start(sessions, me, services):
    store.create(sessions, ORDER, "corr-1", shard_of("o-1", 8))
    return Driver(sessions, me, services).drive("o-1")


def logged(sessions):
    with sessions() as session:
        from orchestrator import reads
        return [(line["step"], line["outcome"]) for line in reads.one(session, "o-1")["log"]]


def test_a_saga_runs_every_step_and_logs_before_and_after_each(sessions, me):
    saga = start(sessions, me, FakeServices())
    assert saga["state"] == COMPLETED and saga["data"]["payment_id"] == "p-1"
    lines = logged(sessions)
    assert lines.count(("charge_payment", "started")) == 1
    assert lines.index(("charge_payment", "started")) < lines.index(("charge_payment",
                                                                     "succeeded"))
    assert lines[-1] == ("saga", "completed")


def test_a_declined_payment_releases_the_stock_and_cancels_with_the_reason(sessions, me):
    declined = Answer(REJECTED, 409, {"error": {"code": "payment_declined"}})
    services = FakeServices(charge_payment=[declined])
    saga = start(sessions, me, services)
    assert saga["state"] == CANCELLED and saga["reason"] == "payment_declined"
    assert services.calls == ["reserve_stock", "charge_payment", "release_stock",
                              "cancel_order", "notify_customer"]


def test_a_step_that_keeps_failing_is_left_for_recovery_and_resumed_where_it_stopped(sessions, me):
    services = FakeServices(book_shipment=[Answer(TRANSIENT, error="ReadTimeout")])
    saga = start(sessions, me, services)
    assert saga["state"] == RUNNING and saga["retries"] == 1 and saga["next_attempt_at"]
    saga = Driver(sessions, me, services).drive("o-1")
    assert saga["state"] == COMPLETED
    assert services.calls.count("charge_payment") == 1
    assert services.calls.count("book_shipment") == 2


def test_a_saga_cut_off_mid_compensation_is_due_for_recovery_and_ends_cancelled(sessions, me):
    # A replica that dies while undoing a saga leaves it COMPENSATING, not RUNNING: recovery
    # must pick those up too, or the stock stays held for an order that will never end.
    declined = Answer(REJECTED, 409, {"error": {"code": "payment_declined"}})
    services = FakeServices(charge_payment=[declined],
                            release_stock=[Answer(TRANSIENT, error="ReadTimeout")])
    saga = start(sessions, me, services)
    assert saga["state"] == COMPENSATING
    with transaction(sessions) as session:  # its retry is due now (as after a crash)
        session.execute(update(tables.sagas).values(next_attempt_at=saga["created_at"]))
    assert store.due(sessions, me.owned, limit=10) == ["o-1"]
    assert store.due(sessions, me.owned, limit=10, driving=["o-1"]) == []
    saga = Driver(sessions, me, services).drive("o-1")
    assert saga["state"] == CANCELLED and services.calls.count("release_stock") == 2


def test_a_driver_that_lost_its_lease_stops_without_writing(sessions, me):
    store.create(sessions, ORDER, "corr-1", shard_of("o-1", 8))
    with transaction(sessions) as session:
        session.execute(update(tables.shard_leases).values(owner="someone-else"))
    with pytest.raises(LeaseLost):
        Driver(sessions, me, FakeServices()).drive("o-1")
    assert logged(sessions) == [("saga", "started")]


def test_archival_moves_finished_sagas_with_their_log_and_never_unfinished_ones(sessions, me):
    start(sessions, me, FakeServices())
    before = logged(sessions)
    store.create(sessions, {**ORDER, "order_id": "o-2"}, "corr-2", shard_of("o-2", 8))
    assert archive.archive_all(sessions, retention_s=0) == 1
    with sessions() as session:
        from orchestrator import reads
        archived = reads.one(session, "o-1")
        assert archived["archived"] and reads.one(session, "o-2")["archived"] is False
    assert [(line["step"], line["outcome"]) for line in archived["log"]] == before
