"""Faults put into the broker from outside: duplicated messages and poison messages,
published straight to an exchange and the queues. The choreographed variant's events, or the
orchestrated variant's commands and replies (orch-amqp, on the exchange of its own).

- A tap queue bound to every message of an exchange ("#") copies what the services publish
  during the load; publishing those copies again is exactly what an at-least-once relay does
  after a crash (a command twice: its stored answer again; a reply twice: dropped).
- Poison: a message that can never succeed, on every consumer queue; each must end in the
  dead-letter queue and the consumer must go on with the next message.
"""
import json

from ops import queues
from shared.messaging import topology
from shared.messaging.connection import connect

TAP = "chaos.tap"


def command_queues(replicas):
    """Return orch-amqp's consumer queues with the type each expects: every service's commands
    (saga.command), every orchestrator replica's replies (saga.reply)."""
    return [(queue, "saga.reply" if queue.endswith(".replies") else "saga.command")
            for queue in queues.command_queues(replicas)]


def open_tap(amqp_url, exchange=topology.EXCHANGE):
    """Start copying every message of `exchange` into the tap queue (empty it first)."""
    with _channel(amqp_url) as channel:
        channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        channel.queue_declare(TAP, durable=False, auto_delete=False)
        channel.queue_bind(TAP, exchange, routing_key="#")
        channel.queue_purge(TAP)


def republish_tapped(amqp_url, copies=2, exchange=topology.EXCHANGE):
    """Publish every tapped message `copies` more times, same message id; return how many."""
    sent = 0
    with _channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.queue_unbind(TAP, exchange, routing_key="#")  # or it taps its own copies
        while True:
            method, properties, body = channel.basic_get(TAP, auto_ack=True)
            if method is None:
                break
            for _ in range(copies):
                channel.basic_publish(exchange, method.routing_key, body, properties=properties)
                sent += 1
        channel.queue_delete(TAP)
    return sent


def poison_messages(tag, kind="order.placed"):
    """Return (message_id, body, type) of messages no consumer of `kind` can ever handle."""
    envelope = {"message_id": "", "type": kind, "version": 1, "correlation_id": tag,
                "source": "chaos", "occurred_at": "2024-01-01T00:00:00+00:00", "data": {}}
    return [(f"{tag}-not-json", b"\xff{not json", kind),
            (f"{tag}-not-object", b"[1, 2, 3]", kind),
            (f"{tag}-no-envelope", json.dumps({"hello": "world"}).encode(), kind),
            (f"{tag}-breaks-contract", json.dumps(
                {**envelope, "message_id": f"{tag}-breaks-contract"}).encode(), kind)]


def publish_poison(amqp_url, tag, targets=None):
    """Publish every poison message to every consumer queue ((queue, type) pairs; default:
    the choreographed ones, each expecting an event); return the message ids sent."""
    sent = []
    with _channel(amqp_url) as channel:
        channel.confirm_delivery()
        for queue, kind in targets or [(q, "order.placed") for q in queues.CONSUMER_QUEUES]:
            for message_id, body, _ in poison_messages(tag, kind):
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

