"""Archival in a replica's loop: a shard that cannot be archived does not stop the others."""
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert, select

sys.path.append(str(Path(__file__).resolve().parents[2] / "orders-orch"))

from shared.models import plumbing
from shared.models.base import utcnow  # noqa: E402
from shared.runtime.db import make_engine, make_session_factory, transaction  # noqa: E402
from orchestrator import archive, store, tables  # noqa: E402
from orchestrator.shards import Leases  # noqa: E402
from orchestrator.steps import COMPLETED  # noqa: E402

ORDER = {"customer_id": "c", "items": [], "total_cents": 1, "currency": "EUR",
         "card_token": "tok_visa", "shipping_address": {}}


@pytest.fixture
def sessions(tmp_path):
    """Return a session factory for a fresh orchestrator database."""
    engine = make_engine(f"sqlite:///{tmp_path / 'orchestrator.db'}")
    yield make_session_factory(engine, tables.metadata, plumbing.metadata)
    engine.dispose()


def finished(sessions, leases, order_id, shard):
    saga = store.create(sessions, {**ORDER, "order_id": order_id}, "corr", shard,
                        leases.token(shard))
    store.advance(sessions, saga, leases.token(shard),
                  {"state": COMPLETED, "finished_at": saga["created_at"]}, [])


def test_a_shard_whose_archival_fails_does_not_keep_the_next_shards_live(sessions):
    leases = Leases(sessions, "a-owner", "http://a", "a", 8, 10_000)
    leases.tick()
    finished(sessions, leases, "o-broken", 2)
    finished(sessions, leases, "o-fine", 5)
    with transaction(sessions) as session:  # a log line's id already archived: the insert fails
        line = session.execute(select(tables.saga_log).where(
            tables.saga_log.c.saga_id == "o-broken")).mappings().first()
        session.execute(insert(tables.saga_log_archive),
                        {**line, "saga_id": "o-older", "archived_at": utcnow()})

    moved = archive.archive_all(sessions, 0, tokens=[leases.token(2), leases.token(5)])
    assert moved == 1
    assert store.load(sessions, "o-fine")["archived_at"] is not None
    assert "archived_at" not in store.load(sessions, "o-broken")  # still live, nothing lost
