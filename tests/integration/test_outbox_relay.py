"""The outbox relay publishes committed events with confirms, and only committed events."""
import json
import os
import queue
import subprocess
import sys
import threading

from sqlalchemy import insert, select

from shared.messaging import outbox, topology
from shared.messaging.envelope import Envelope
from shared.messaging.relay import OutboxRelay
from shared.models.base import utcnow
from shared.models.plumbing import outbox as outbox_table
from shared.models import plumbing
from shared.runtime.db import make_engine, make_session_factory, transaction
from tests.support import ROOT, wait_for


def _event(n):
    return Envelope(type="stock.committed", version=1, source="test", correlation_id=f"c{n}",
                    data={"order_id": f"order-{n}", "customer_id": "cust"})


def _bind(channel, queue, key="#"):
    topology.declare_exchange(channel)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, topology.EXCHANGE, routing_key=key)


def _drain(channel, queue):
    bodies = []
    while (message := channel.basic_get(queue, auto_ack=True))[0]:
        bodies.append(json.loads(message[2]))
    return bodies


def _unsent(sessions):
    with sessions() as session:
        return set(session.scalars(select(outbox_table.c.routing_key)
                                   .where(outbox_table.c.sent_at.is_(None))))


def test_committed_events_are_published_in_order_and_rolled_back_ones_never(
        database, amqp_url, channel, queue_name, in_thread):
    sessions = database()
    _bind(channel, queue_name)
    with transaction(sessions) as session:
        for n in range(5):
            outbox.add(session, _event(n))
    try:
        with transaction(sessions) as session:
            outbox.add(session, _event(99))
            raise RuntimeError("the state change failed, so its event must vanish with it")
    except RuntimeError:
        pass

    in_thread(OutboxRelay(sessions, amqp_url))
    received = []
    wait_for(lambda: received.extend(_drain(channel, queue_name)) or len(received) >= 5,
             message="five events")
    assert [e["data"]["order_id"] for e in received] == [f"order-{n}" for n in range(5)]
    assert _unsent(sessions) == set()
    assert _drain(channel, queue_name) == []


def test_an_event_no_queue_is_bound_for_stays_unsent_without_blocking_the_others(
        database, amqp_url, channel, queue_name, in_thread):
    sessions = database()
    _bind(channel, queue_name, key="stock.committed")
    lonely = f"nobody.listens.{queue_name}"
    with transaction(sessions) as session:
        session.execute(insert(outbox_table).values(
            message_id=f"m-{queue_name}", routing_key=lonely, body=_event(1).to_json(),
            created_at=utcnow(), sent_at=None))
        outbox.add(session, _event(2))

    in_thread(OutboxRelay(sessions, amqp_url))
    wait_for(lambda: _unsent(sessions) == {lonely}, message="the routable event to be sent")
    assert [e["data"]["order_id"] for e in _drain(channel, queue_name)] == ["order-2"]

    channel.queue_bind(queue_name, topology.EXCHANGE, routing_key=lonely)
    wait_for(lambda: _unsent(sessions) == set(), timeout=30, message="the parked event")
    assert len(_drain(channel, queue_name)) == 1


# --- The process dies between its commit and any publish ---------------------------------------
# The broker restart tests keep the publishing process alive, so a publish retried from memory
# after the commit would pass them. Here the broker cannot be reached when the change commits,
# and the process is killed (SIGKILL) right after its commit: whatever it meant to publish later
# dies with it. Only an event written by the transaction itself is still there for a relay.
UNREACHABLE = "amqp://guest:guest@127.0.0.1:1/%2F"  # nothing listens on port 1


def _sessions_at(path):
    return make_session_factory(make_engine(f"sqlite:///{path}"), plumbing.metadata)


def commit_then_wait_to_be_killed(path, n):
    """Run by a subprocess: commit a change's event, say so, then wait for the SIGKILL."""
    with transaction(_sessions_at(path)) as session:
        outbox.add(session, _event(n))
    print("committed", flush=True)
    threading.Event().wait()


def _killed_after_its_commit(path, n):
    worker = subprocess.Popen(
        [sys.executable, "-c", "import sys; from tests.integration.test_outbox_relay import "
         "commit_then_wait_to_be_killed as run; run(sys.argv[1], int(sys.argv[2]))",
         str(path), str(n)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, AMQP_URL=UNREACHABLE))
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(worker.stdout.readline()), daemon=True).start()
    try:
        said = lines.get(timeout=20)  # a commit that waits for the broker never says it
    except queue.Empty:
        said = ""
    worker.kill()
    worker.wait(timeout=10)
    return said.strip()


def test_an_event_committed_by_a_process_killed_before_any_publish_is_still_published(
        amqp_url, channel, queue_name, in_thread, tmp_path):
    path = tmp_path / "service.db"
    sessions = _sessions_at(path)
    _bind(channel, queue_name)
    assert _killed_after_its_commit(path, 7) == "committed"
    in_thread(OutboxRelay(sessions, amqp_url))  # the relay of the restarted service
    received = []
    wait_for(lambda: received.extend(_drain(channel, queue_name)) or received, timeout=15,
             message="the event the killed process committed")
    assert [e["data"]["order_id"] for e in received] == ["order-7"]
