"""The outbox relay publishes committed events with confirms, and only committed events."""
import json

from sqlalchemy import insert, select

from shared.messaging import outbox, topology
from shared.messaging.envelope import Envelope
from shared.messaging.relay import OutboxRelay
from shared.models.base import utcnow
from shared.models.plumbing import outbox as outbox_table
from shared.runtime.db import transaction
from tests.support import wait_for


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
