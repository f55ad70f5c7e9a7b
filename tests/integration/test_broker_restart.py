"""A broker restart in the middle of a stream of events loses none and doubles none.

The count is compared once a sentinel, written to the outbox after every other event, has been
applied: the relay publishes the outbox in the order it was written and the one consumer
applies its queue in order, so every event before the sentinel, redeliveries and relayed
duplicates included, has then been applied or dropped. Comparing as soon as 60 rows exist
would miss a duplicate applied after the 60th."""
import threading
import time

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from shared.messaging import outbox
from shared.messaging.consumer import Consumer
from shared.messaging.envelope import Envelope
from shared.messaging.relay import OutboxRelay
from shared.runtime.db import transaction
from tests.support import wait_for

EVENTS = 60
seen_metadata = MetaData()
seen = Table("seen", seen_metadata, Column("id", Integer, primary_key=True, autoincrement=True),
             Column("order_id", String(40), nullable=False))


def test_a_broker_restart_mid_stream_loses_no_event_and_applies_none_twice(
        broker, database, amqp_url, queue_name, in_thread):
    sessions = database(seen_metadata)

    def record(session, event):
        session.execute(insert(seen).values(order_id=event.data["order_id"]))

    consumer = in_thread(Consumer("test", queue_name, {"stock.committed": record}, sessions,
                                  amqp_url))
    wait_for(lambda: consumer.channel is not None, message="the consumer to subscribe")
    in_thread(OutboxRelay(sessions, amqp_url))

    def produce():  # a steady stream of committed events, as services would write them
        for n in range(EVENTS):
            _emit(sessions, n)
            time.sleep(0.1)

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(1.5)
    broker.restart()
    producer.join()
    _emit(sessions, "sentinel")

    def applied():
        with sessions() as session:
            return session.scalars(select(seen.c.order_id)).all()

    wait_for(lambda: "o-sentinel" in applied() and len(applied()) > EVENTS, timeout=90,
             message=f"all {EVENTS} events and the sentinel after them applied")
    assert sorted(applied()) == sorted([f"o-{n}" for n in range(EVENTS)] + ["o-sentinel"])


def _emit(sessions, n):
    """Commit one event to the outbox, as a service would."""
    with transaction(sessions) as session:
        outbox.add(session, Envelope(type="stock.committed", version=1, source="test",
                                     correlation_id=str(n),
                                     data={"order_id": f"o-{n}", "customer_id": "c"}))
