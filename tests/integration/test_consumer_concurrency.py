"""A choreographed worker's consumers under concurrency: CONCURRENCY handlers really run at once
(as many as an orchestrated service's request threads), and the consumer's guarantees hold while
they do. A real broker, and a real PostgreSQL: SQLite lets one writer in at a time, so there the
handlers' transactions take turns whatever the number of consumers.

The consumers are built by build_consumers(), the code run_worker() starts a worker with.
"""
import logging
import threading
import time
import uuid

import pika
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from shared.db import make_engine, make_session_factory
from shared.envelope import Envelope
from shared.messaging import topology
from shared.messaging.worker import build_consumers
from shared.models import plumbing
from tests.support import throwaway_postgres, wait_for

N = 6  # the CONCURRENCY of these tests: the default 16 would cost more and show nothing more
BARRIER_S = 10  # how long a handler waits for the others before the barrier breaks
POSTGRES_PORT = 15437
HANDLES = "stock.committed"

effects_metadata = MetaData()
effects = Table("effects", effects_metadata,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("order_id", String(40), nullable=False))


@pytest.fixture(scope="module")
def cluster():
    """A throwaway PostgreSQL cluster of this module's own."""
    with throwaway_postgres(POSTGRES_PORT, "test-consumer-concurrency-postgres") as running:
        yield running


@pytest.fixture
def sessions(cluster):
    """A session factory on a fresh PostgreSQL database with the effects and plumbing tables."""
    name = f"consumers_{uuid.uuid4().hex[:8]}"
    cluster.create_databases([name])
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{POSTGRES_PORT}/{name}")
    yield make_session_factory(engine, effects_metadata, plumbing.metadata)
    engine.dispose()


@pytest.fixture
def start_worker(monkeypatch, sessions, amqp_url, queue_name, channel, in_thread):
    """Return start(handle): a worker's consumers of the test queue, built as run_worker builds
    them with CONCURRENCY=N, each running in its thread; it returns once all consume."""
    monkeypatch.setenv("CONCURRENCY", str(N))
    topology.declare_consumer_queue(channel, queue_name, [HANDLES])  # as the consumers will

    def start(handle):
        consumers = build_consumers("test", sessions, amqp_url, {queue_name: {HANDLES: handle}})
        for consumer in consumers:
            in_thread(consumer)
        # Publish only once every consumer has subscribed: the broker then deals the messages
        # round-robin; before, the first one would take them all (up to its prefetch).
        wait_for(lambda: channel.queue_declare(queue_name, passive=True).method.consumer_count
                 == len(consumers), message="every consumer to subscribe")
        return consumers
    return start


def _event(order_id):
    return Envelope(type=HANDLES, version=1, source="test", correlation_id=order_id,
                    data={"order_id": order_id, "customer_id": "cust"})


def _publish(channel, queue, event):
    channel.basic_publish("", queue, event.to_json().encode(), properties=pika.BasicProperties(
        delivery_mode=2, message_id=event.message_id))


def _applied(sessions):
    with sessions() as session:
        return session.scalars(select(effects.c.order_id)).all()


def _record(session, event):
    session.execute(insert(effects).values(order_id=event.data["order_id"]))


def test_a_worker_runs_concurrency_handlers_at_once(start_worker, sessions, channel, queue_name):
    barrier = threading.Barrier(N, timeout=BARRIER_S)

    def handle(session, event):
        barrier.wait()  # passes only when N handlers are in here at the same time
        _record(session, event)

    start_worker(handle)
    for n in range(N):
        _publish(channel, queue_name, _event(f"order-{n}"))

    wait_for(lambda: len(_applied(sessions)) == N or barrier.broken, timeout=BARRIER_S + 30,
             message="every handler through the barrier, or the barrier broken")
    assert not barrier.broken, f"fewer than {N} handlers ran at once"
    assert sorted(_applied(sessions)) == [f"order-{n}" for n in range(N)]


def test_copies_of_one_message_on_every_consumer_at_once_are_applied_once(
        start_worker, sessions, channel, queue_name, caplog):
    caplog.set_level(logging.INFO, logger="shared.messaging.consumer")

    def handle(session, event):
        time.sleep(0.5)  # hold the transaction open: the copies meet its uncommitted message id
        _record(session, event)

    start_worker(handle)
    event = _event("order-once")
    for _ in range(N):  # one copy per consumer, all in flight together (a redelivery storm)
        _publish(channel, queue_name, event)

    dropped = f"{event.message_id} dropped by {queue_name}"  # the dedup's line (Trade-off 67)
    wait_for(lambda: len(_applied(sessions)) + caplog.text.count(dropped) >= N,
             message=f"all {N} copies applied or dropped")
    time.sleep(0.5)  # a copy applied late would show now
    assert (len(_applied(sessions)), caplog.text.count(dropped)) == (1, N - 1)

