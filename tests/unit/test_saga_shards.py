"""Shards and their leases: a stable mapping, balance between replicas, takeover, fencing."""
import sys
import time
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "orders-orch"))

from shared.db import make_engine, make_session_factory, transaction  # noqa: E402
from shared.models import orchestrator, plumbing  # noqa: E402
from orchestrator.shards import LeaseLost, Leases, fence, shard_of  # noqa: E402


@pytest.fixture
def sessions(tmp_path):
    """Return a session factory for a fresh orchestrator database."""
    engine = make_engine(f"sqlite:///{tmp_path / 'orchestrator.db'}")
    yield make_session_factory(engine, orchestrator.metadata, plumbing.metadata)
    engine.dispose()


def leases(sessions, name, ttl_ms=10_000):
    return Leases(sessions, f"{name}-owner", f"http://{name}", name, 8, ttl_ms)


def test_a_saga_always_maps_to_the_same_shard_within_range():
    ids = [f"order-{n}" for n in range(2000)]
    shards = [shard_of(i, 8) for i in ids]
    assert shards == [shard_of(i, 8) for i in ids]
    assert set(shards) == set(range(8))


def test_the_shards_spread_sagas_roughly_evenly():
    counts = [0] * 8
    for n in range(8000):
        counts[shard_of(f"order-{n}", 8)] += 1
    assert min(counts) > 800 and max(counts) < 1200


def test_a_lone_replica_takes_every_shard(sessions):
    assert leases(sessions, "a").tick() == frozenset(range(8))


def test_a_second_replica_gets_half_of_the_shards_once_the_first_gives_them_back(sessions):
    a, b = leases(sessions, "a"), leases(sessions, "b")
    a.tick()
    b.tick()  # live replicas: 2, but every shard is still leased to a
    a.tick()  # a gives back what is over its share
    b.tick()  # and b takes it
    assert len(a.owned) == len(b.owned) == 4 and not a.owned & b.owned


def test_a_replica_keeps_the_shards_it_is_driving_sagas_of(sessions):
    a, b = leases(sessions, "a"), leases(sessions, "b")
    a.tick()
    b.tick()
    assert a.tick(busy=frozenset(range(8))) == frozenset(range(8))


def test_the_shards_of_a_replica_that_stops_renewing_are_taken_over(sessions):
    a, b = leases(sessions, "a", ttl_ms=300), leases(sessions, "b", ttl_ms=300)
    a.tick(), b.tick(), a.tick(), b.tick()
    time.sleep(0.4)  # a stops renewing: its leases and heartbeat expire
    assert b.tick() == frozenset(range(8))


def test_a_write_is_fenced_on_the_shards_lease(sessions):
    a, b = leases(sessions, "a", ttl_ms=300), leases(sessions, "b", ttl_ms=300)
    a.tick()
    with transaction(sessions) as session:
        fence(session, 3, a.owner)
        with pytest.raises(LeaseLost):
            fence(session, 3, b.owner)
    time.sleep(0.4)
    b.tick()
    with pytest.raises(LeaseLost), transaction(sessions) as session:
        fence(session, 3, a.owner)  # a stalled past its lease: b owns the shard now
