"""Shards and their leases: a stable mapping, balance between replicas, takeover, fencing."""
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "orders-orch"))

from shared.models import plumbing
from shared.runtime.db import make_engine, make_session_factory  # noqa: E402
from orchestrator import archive, store, tables  # noqa: E402
from orchestrator.shards import LeaseLost, Leases, shard_of  # noqa: E402
from orchestrator.steps import COMPLETED  # noqa: E402


@pytest.fixture
def sessions(tmp_path):
    """Return a session factory for a fresh orchestrator database."""
    engine = make_engine(f"sqlite:///{tmp_path / 'orchestrator.db'}")
    yield make_session_factory(engine, tables.metadata, plumbing.metadata)
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


def test_a_replica_over_its_share_gives_back_idle_shards_at_once_and_one_busy_shard_a_tick(
        sessions):
    a, b = leases(sessions, "a"), leases(sessions, "b")
    a.tick()
    b.tick()  # a's share is now 4 of 8
    busy = Counter({0: 3, 1: 1, 2: 2, 3: 5, 4: 2, 5: 4})  # sagas in flight per shard; 6, 7 idle
    assert a.tick(busy) == {0, 2, 3, 4, 5}  # both idle ones, and the least busy of the others
    assert a.tick(busy) == {0, 3, 4, 5}  # one more busy one (2 before 4: the first of a tie)
    assert a.tick(busy) == {0, 3, 4, 5}  # at its share: it keeps the rest
    assert b.tick() == {1, 2, 6, 7}


def test_under_sustained_load_a_second_replica_still_gets_its_share(sessions):
    a, b = leases(sessions, "a"), leases(sessions, "b")
    a.tick()
    b.tick()
    every_shard_busy = frozenset(range(8))
    for _ in range(4):
        a.tick(every_shard_busy), b.tick(every_shard_busy)
    assert len(a.owned) == len(b.owned) == 4 and not a.owned & b.owned


def test_a_saga_in_flight_on_a_shard_given_back_is_fenced_out_and_due_at_once_for_the_new_owner(
        sessions):
    a, b = leases(sessions, "a"), leases(sessions, "b")
    a.tick()
    saga = store.create(sessions, ORDER, "corr", 3, a.token(3))
    in_flight = a.token(3)  # a thread of a is calling the saga's first step
    store.record(sessions, saga, in_flight, "inventory", "reserve_stock", "started")
    b.tick()
    a.tick(Counter({**{shard: 2 for shard in range(8)}, 3: 1}))  # shard 3: the least busy
    assert 3 not in a.owned and 3 in b.tick()
    with pytest.raises(LeaseLost):  # the answer a's thread got is not written: it stops
        store.advance(sessions, saga, in_flight, {"cursor": 1}, [("inventory", "x", "succeeded")])
    assert store.due(sessions, b.owned, 10) == ["o-3"]  # b's next recovery round resumes it
    assert store.due(sessions, b.owned, 10, driving=["o-3"]) == []  # unless b drives it already


def test_the_shards_of_a_replica_that_stops_renewing_are_taken_over(sessions):
    a, b = leases(sessions, "a", ttl_ms=300), leases(sessions, "b", ttl_ms=300)
    a.tick(), b.tick(), a.tick(), b.tick()
    time.sleep(0.4)  # a stops renewing: its leases and heartbeat expire
    assert b.tick() == frozenset(range(8))


ORDER = {"order_id": "o-3", "customer_id": "c", "items": [], "total_cents": 1,
         "currency": "EUR", "card_token": "tok_visa", "shipping_address": {}}


def log_of(sessions, saga_id="o-3"):
    with sessions() as session:
        from orchestrator import reads
        return [(line["step"], line["outcome"]) for line in reads.one(session, saga_id)["log"]]


def test_a_takeover_adds_one_to_the_shards_epoch(sessions):
    a, b = leases(sessions, "a", ttl_ms=300), leases(sessions, "b", ttl_ms=300)
    a.tick()
    time.sleep(0.4)
    b.tick()
    assert a.token(3).epoch == 1 and b.token(3).epoch == 2


def test_a_replica_that_lost_its_shard_writes_nothing_with_its_old_token(sessions):
    a, b = leases(sessions, "a", ttl_ms=300), leases(sessions, "b", ttl_ms=300)
    a.tick()
    saga = store.create(sessions, ORDER, "corr", 3, a.token(3))
    stale = a.token(3)
    time.sleep(0.4)  # a stalls past its lease; b takes the shard over
    b.tick()
    with pytest.raises(LeaseLost, match="nothing written"):
        store.record(sessions, saga, stale, "inventory", "reserve_stock", "started")
    with pytest.raises(LeaseLost):
        store.advance(sessions, saga, stale, {"cursor": 1}, [("inventory", "x", "succeeded")])
    with pytest.raises(LeaseLost):
        store.create(sessions, {**ORDER, "order_id": "o-4"}, "corr", 3, stale)
    assert store.load(sessions, "o-3")["cursor"] == 0 and store.load(sessions, "o-4") is None
    assert log_of(sessions) == [("saga", "started")]
    store.record(sessions, saga, b.token(3), "inventory", "reserve_stock", "started")
    assert log_of(sessions)[-1] == ("reserve_stock", "started")


def test_an_expired_lease_nobody_took_over_still_fences_by_epoch_not_by_clock(sessions):
    a = leases(sessions, "a", ttl_ms=100)
    a.tick()
    saga = store.create(sessions, ORDER, "corr", 3, a.token(3))
    time.sleep(0.2)  # expired by the clock, but no other replica wrote: the token still holds
    store.record(sessions, saga, a.token(3), "inventory", "reserve_stock", "started")
    assert log_of(sessions)[-1] == ("reserve_stock", "started")


def test_archival_with_a_lost_lease_moves_nothing(sessions):
    a, b = leases(sessions, "a", ttl_ms=300), leases(sessions, "b", ttl_ms=300)
    a.tick()
    saga = store.create(sessions, ORDER, "corr", 3, a.token(3))
    store.advance(sessions, saga, a.token(3),
                  {"state": COMPLETED, "finished_at": saga["created_at"]}, [])
    stale = a.token(3)
    time.sleep(0.4)
    b.tick()
    assert archive.archive_all(sessions, retention_s=0, tokens=[stale]) == 0
    assert archive.archive_all(sessions, retention_s=0, tokens=[b.token(3)]) == 1


def test_a_token_from_before_the_replica_gave_its_shard_back_and_took_it_again_is_stale(sessions):
    a, b = leases(sessions, "a", ttl_ms=1500), leases(sessions, "b", ttl_ms=1500)  # ticks in time
    a.tick()
    saga = store.create(sessions, {**ORDER, "order_id": "o-7"}, "corr", 7, a.token(7))
    stale = a.token(7)  # a thread of a starts a step of this saga, then stalls
    b.tick(), a.tick(), b.tick()  # a gives shard 7 back to b, which takes it
    time.sleep(1.6)
    a.tick()  # b is gone: a takes shard 7 over again, one epoch later (same owner name)
    assert a.token(7).epoch == stale.epoch + 2
    with pytest.raises(LeaseLost):
        store.record(sessions, saga, stale, "inventory", "reserve_stock", "started")
    assert log_of(sessions, "o-7") == [("saga", "started")]


def test_a_shard_given_back_fences_its_old_token_before_anyone_takes_it(sessions):
    a, b = leases(sessions, "a"), leases(sessions, "b")
    a.tick()
    saga = store.create(sessions, {**ORDER, "order_id": "o-7"}, "corr", 7, a.token(7))
    stale = a.token(7)  # a thread of a starts a step of this saga, then stalls
    b.tick(), a.tick()  # a, over its share, gives shard 7 back; nobody has taken it yet
    assert not a.owns(7) and not b.owns(7)
    # The epoch has not moved (only a takeover bumps it): the owner is what fences here.
    with pytest.raises(LeaseLost):
        store.record(sessions, saga, stale, "inventory", "reserve_stock", "started")
    assert log_of(sessions, "o-7") == [("saga", "started")]
