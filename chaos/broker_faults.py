"""Faults put into the broker from outside (choreographed variant): duplicated events and
poison messages, published straight to the exchange and the queues.

- A tap queue bound to every event ("#") copies what the services publish during the load;
  publishing those copies again is exactly what an at-least-once relay does after a crash.
- Poison: a message that can never succeed, on every consumer queue; each must end in the
  dead-letter queue and the consumer must go on with the next message.
"""
import json

from shared.messaging import topology
from shared.messaging.connection import connect

TAP = "chaos.tap"
CONSUMER_QUEUES = ("inventory.events", "payments.events", "shipping.events",
                   "notifications.events", "orders.outcomes", "orders.tracker")


def open_tap(amqp_url):
    """Start copying every event into the tap queue (empty it first)."""
    with _channel(amqp_url) as channel:
        topology.declare_exchange(channel)
        channel.queue_declare(TAP, durable=False, auto_delete=False)
        channel.queue_bind(TAP, topology.EXCHANGE, routing_key="#")
        channel.queue_purge(TAP)


def republish_tapped(amqp_url, copies=2):
    """Publish every tapped event `copies` more times, same message id; return how many."""
    sent = 0
    with _channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.queue_unbind(TAP, topology.EXCHANGE, routing_key="#")  # or it taps its own copies
        while True:
            method, properties, body = channel.basic_get(TAP, auto_ack=True)
            if method is None:
                break
            for _ in range(copies):
                channel.basic_publish(topology.EXCHANGE, method.routing_key, body,
                                      properties=properties)
                sent += 1
        channel.queue_delete(TAP)
    return sent


def poison_messages(tag):
    """Return (message_id, body, type) of messages no consumer can ever handle."""
    envelope = {"message_id": "", "type": "order.placed", "version": 1, "correlation_id": tag,
                "source": "chaos", "occurred_at": "2024-01-01T00:00:00+00:00", "data": {}}
    return [(f"{tag}-not-json", b"\xff{not json", "order.placed"),
            (f"{tag}-not-object", b"[1, 2, 3]", "order.placed"),
            (f"{tag}-no-envelope", json.dumps({"hello": "world"}).encode(), "order.placed"),
            (f"{tag}-breaks-contract", json.dumps(
                {**envelope, "message_id": f"{tag}-breaks-contract"}).encode(), "order.placed")]


def publish_poison(amqp_url, tag):
    """Publish every poison message to every consumer queue; return the message ids sent."""
    sent = []
    with _channel(amqp_url) as channel:
        channel.confirm_delivery()
        for queue in CONSUMER_QUEUES:
            for message_id, body, kind in poison_messages(tag):
                channel.basic_publish("", queue, body, properties=topology.persistent(
                    kind, f"{message_id}@{queue}", tag))
                sent.append((queue, f"{message_id}@{queue}"))
    return sent


class _channel:
    def __init__(self, amqp_url):
        self.connection = connect(amqp_url)

    def __enter__(self):
        return self.connection.channel()

    def __exit__(self, *exc):
        self.connection.close()

