"""A choreographed worker's consumers under concurrency: CONCURRENCY handlers really run at once
(as many as an orchestrated service's request threads), and the consumer's guarantees hold while
they do. A real broker, and a real PostgreSQL: SQLite lets one writer in at a time, so there the
handlers' transactions take turns whatever the number of consumers.

The consumers are built by build_consumers(), the code run_worker() starts a worker with; the
last test runs run_worker() itself in a process of its own, and kills it.
"""
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pika
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text

from shared.messaging import topology
from shared.messaging.envelope import Envelope
from shared.models import plumbing
from shared.runtime.db import make_engine, make_session_factory
from tests.support import ROOT, choreo_modules, throwaway_postgres, wait_for

# orders-choreo/service_worker.py imports nothing from its tree: borrowed, then the tree leaves
# sys.path again (this runs at collection, before the unit tests that check the path is clean).
with choreo_modules("service_worker") as (service_worker,):
    build_consumers, run_worker = service_worker.build_consumers, service_worker.run_worker

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
def database_url(cluster):
    """The URL of a fresh PostgreSQL database."""
    name = f"consumers_{uuid.uuid4().hex[:8]}"
    cluster.create_databases([name])
    return f"postgresql+psycopg://postgres@127.0.0.1:{POSTGRES_PORT}/{name}"


@pytest.fixture
def sessions(database_url):
    """A session factory on that database with the effects and plumbing tables."""
    engine = make_engine(database_url)
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



def serve():
    """A worker process as run_worker() starts one, whose handler holds its transaction open
    HOLD_S seconds before it records the effect (the test below starts it)."""
    def handle(session, event):
        time.sleep(float(os.environ["HOLD_S"]))
        _record(session, event)

    sessions = make_session_factory(make_engine(os.environ["TEST_DATABASE_URL"]),
                                    effects_metadata, plumbing.metadata)
    run_worker("test", sessions, {os.environ["TEST_QUEUE"]: {HANDLES: handle}})


def _worker_process(database_url, amqp_url, queue, hold_s):
    env = dict(os.environ, CONCURRENCY=str(N), HOLD_S=str(hold_s), AMQP_URL=amqp_url,
               TEST_DATABASE_URL=database_url, TEST_QUEUE=queue, WORKER_REPLICA="1",  # no relay
               WORKER_NICE="0", OTEL_SDK_DISABLED="true", PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", "from tests.integration."
                             "test_consumer_concurrency import serve; serve()"], cwd=ROOT, env=env)


def _holding(sessions):
    """Count the transactions of this database open and waiting in a handler."""
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(text("pg_stat_activity")).where(
            text("datname = current_database() AND state = 'idle in transaction'")))


def test_a_worker_killed_while_its_consumers_hold_uncommitted_batches_loses_nothing(
        database_url, sessions, amqp_url, channel, queue_name):
    # Ack after commit (Trade-off 4), N batches at a time: a worker killed while every consumer
    # is inside its batch's transaction acked none of them, so all come back, once each.
    topology.declare_consumer_queue(channel, queue_name, [HANDLES])
    events = [_event(f"order-{n}") for n in range(3 * N)]  # three per consumer
    worker = _worker_process(database_url, amqp_url, queue_name, hold_s=60)
    try:
        wait_for(lambda: channel.queue_declare(queue_name, passive=True).method.consumer_count
                 == N, message="every consumer to subscribe")
        for event in events:
            _publish(channel, queue_name, event)
        wait_for(lambda: _holding(sessions) == N, message=f"{N} batches in their transactions")
        worker.kill()  # like kill -9: no ack, no rollback, no goodbye to the broker
        worker.wait(timeout=10)
        worker = _worker_process(database_url, amqp_url, queue_name, hold_s=0)
        wait_for(lambda: len(_applied(sessions)) >= len(events), message="every event applied")
        time.sleep(1)  # a second copy applied late would show now
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
    assert sorted(_applied(sessions)) == sorted(e.data["order_id"] for e in events)
