"""What a broker cluster asks of the clients, against a real RabbitMQ node of its own (port
5691: quorum queues and the shared dead-letter queue of another type cannot share a node with
the other integration tests' classic ones).

- AMQP_URL listing several nodes: the consumer and the relay reach the live one when the
  others do not answer (here: a port nobody listens on stands for a node that is gone);
- QUEUE_TYPE=quorum: the retry path (a quorum retry queue's per-message TTL, then the broker's
  at-least-once dead-lettering back to the queue) applies a failed message once, and a message
  handed out more often than the delivery limit is dead-lettered by the broker, where
  `make dead-letters` names its queue and why.
A quorum queue works on one node (a Raft group of one): the cluster is in tests/compose.
"""
import shutil
import subprocess

import pika
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from ops import deadletters
from runner.broker import Broker
from shared.messaging import outbox, topology
from shared.messaging.connection import connect
from shared.messaging.consumer import Consumer
from shared.messaging.envelope import Envelope
from shared.messaging.relay import OutboxRelay
from shared.runtime.db import transaction
from tests.support import ROOT, wait_for

LIVE = "amqp://guest:guest@127.0.0.1:5691/%2F"
GONE = "amqp://guest:guest@127.0.0.1:5699/%2F"  # nobody listens: a node that is gone
BOTH = f"{GONE},{LIVE}"

effects_metadata = MetaData()
effects = Table("cluster_effects", effects_metadata,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("order_id", String(40), nullable=False))


@pytest.fixture(scope="module")
def quorum_broker(stop_later):
    node = Broker(LIVE, ROOT / "var" / "test-quorum-broker")
    if not node.answers():
        shutil.rmtree(node.base, ignore_errors=True)
        node.start()
    yield node
    stop_later(node.stop)


@pytest.fixture
def quorum(quorum_broker, monkeypatch):
    monkeypatch.setenv("QUEUE_TYPE", "quorum")
    monkeypatch.setenv("RETRY_DELAY_MS", "100")
    return quorum_broker


def _committed(order_id):
    return Envelope(type="stock.committed", version=1, source="test", correlation_id=order_id,
                    data={"order_id": order_id, "customer_id": "cust"})


def _count(sessions):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(effects))


def _consumer(database, queue, in_thread, fail_times=0):
    sessions, calls = database(effects_metadata), []

    def handle(session, event):
        calls.append(event.message_id)
        if len(calls) <= fail_times:
            raise ConnectionError(f"the database is busy (call {len(calls)})")
        session.execute(insert(effects).values(order_id=event.data["order_id"]))

    consumer = in_thread(Consumer("test", queue, {"stock.committed": handle}, sessions, BOTH))
    wait_for(lambda: consumer.channel is not None and consumer.channel.is_open,
             message="the consumer to subscribe on the live node")
    return sessions, calls


def _queue_types(broker):
    listed = subprocess.run(["rabbitmqctl", "-n", broker.node, "-q", "list_queues", "name",
                             "type"], env=broker.env(), capture_output=True, text=True,
                            timeout=30).stdout
    return dict(line.split("\t") for line in listed.splitlines()[1:] if "\t" in line)


def test_a_client_given_a_gone_node_and_a_live_one_connects_to_the_live_one(quorum):
    for _ in range(6):  # the order is drawn at random: the gone node comes first some times
        connection = connect(BOTH)
        assert connection.is_open
        connection.close()


def test_the_relay_given_a_gone_node_and_a_live_one_publishes_every_row(
        quorum, database, in_thread):
    sessions = database()
    connection = connect(LIVE)
    channel = connection.channel()
    topology.declare_consumer_queue(channel, "cluster.relayed", ["stock.committed"])
    with transaction(sessions) as session:
        for n in range(3):
            outbox.add(session, _committed(f"relayed-{n}"))
    in_thread(OutboxRelay(sessions, BOTH))
    wait_for(lambda: channel.queue_declare("cluster.relayed", passive=True).method
             .message_count == 3, timeout=30, message="three events through the live node")
    connection.close()


def test_on_quorum_queues_a_failed_message_comes_back_from_its_retry_queue_and_applies_once(
        quorum, database, in_thread):
    queue = "cluster.retried"
    sessions, calls = _consumer(database, queue, in_thread, fail_times=2)
    assert _queue_types(quorum)[queue] == _queue_types(quorum)[f"{queue}.retry"] == "quorum"
    connection = connect(LIVE)
    connection.channel().basic_publish(
        topology.EXCHANGE, "stock.committed", _committed("order-retried").to_json(),
        properties=topology.persistent("stock.committed", "m-retried", "order-retried"))
    connection.close()
    wait_for(lambda: _count(sessions) == 1, timeout=30, message="the effect after two failures")
    assert len(calls) == 3


def test_a_message_handed_out_past_the_delivery_limit_is_dead_lettered_by_the_broker(
        quorum, monkeypatch):
    monkeypatch.setenv("QUEUE_DELIVERY_LIMIT", "2")
    queue = "cluster.crashing"
    connection = connect(LIVE)
    channel = connection.channel()
    topology.declare_consumer_queue(channel, queue, ["crash.me"])
    channel.basic_publish("", queue, b"{}", properties=pika.BasicProperties(
        delivery_mode=2, message_id="m-crashing"))
    for _ in range(3):  # a consumer that dies before its ack, three times over
        method = wait_for(lambda: channel.basic_get(queue)[0], message="a delivery")
        channel.basic_nack(method.delivery_tag, requeue=True)
    connection.close()
    listed = wait_for(lambda: [d for d in deadletters.list_dead_letters(LIVE)
                               if d["message_id"] == "m-crashing"], message="a dead letter")
    assert listed[0]["queue"] == queue
    assert listed[0]["reason"] == "by the broker: delivery_limit"


def test_a_consumer_the_broker_cancels_consumes_again(quorum, database, in_thread):
    """The broker ends a consumer when its queue goes (deleted, or lost with its node): the
    consumer must notice and subscribe again, not sit connected and idle."""
    queue = "cluster.cancelled"
    sessions, _calls = _consumer(database, queue, in_thread)
    connection = connect(LIVE)
    channel = connection.channel()
    channel.queue_delete(queue)  # the broker sends basic.cancel to the consumer
    wait_for(lambda: "cluster.cancelled" in _queue_types(quorum), timeout=30,
             message="the consumer to declare its queue again")
    channel.basic_publish(topology.EXCHANGE, "stock.committed",
                          _committed("order-after-cancel").to_json(),
                          properties=topology.persistent("stock.committed", "m-after-cancel",
                                                         "order-after-cancel"))
    connection.close()
    wait_for(lambda: _count(sessions) == 1, timeout=30, message="the event after the cancel")
