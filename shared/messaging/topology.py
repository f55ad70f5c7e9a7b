"""The broker topology as data: one topic exchange for all events, and per consumer queue a
retry queue and the shared dead-letter queue.

    publisher --(routing key = event type)--> orders.events (topic)
        --> <service>.<name> queue --(fails)--> <queue>.retry --(TTL expires)--> <queue>
                                   --(fails N times or poison)--> dead-letters

Every queue is durable and every message persistent, so a broker restart loses nothing.
Each service declares its own queue and bindings (see its `subscriptions.py`): no central list
names the services, which is what lets a new one join without changing the others.
"""
import pika

EXCHANGE = "orders.events"
DEAD_LETTER_QUEUE = "dead-letters"

# Headers this project adds to a message on its way through retries and dead-lettering.
ATTEMPTS_HEADER = "x-attempts"
REASON_HEADER = "x-dead-reason"
ORIGIN_HEADER = "x-original-queue"


def retry_queue(queue):
    """Return the name of the queue where a failed message waits before its next attempt."""
    return f"{queue}.retry"


def declare_exchange(channel):
    """Declare the events exchange (idempotent)."""
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)


def declare_consumer_queue(channel, queue, routing_keys):
    """Declare a consumer's queue with its bindings, its retry queue and the dead-letter queue."""
    declare_exchange(channel)
    channel.queue_declare(queue, durable=True)
    # Trade-off 7: each service binds its own queue to the events it wants; nothing central
    # lists the services, so a new one joins alone (C2). Bindings are only ever added: a key
    # a service stops handling stays bound until someone unbinds it by hand.
    for key in routing_keys:
        channel.queue_bind(queue, EXCHANGE, routing_key=key)
    # A message in the retry queue expires after its per-message TTL and is dead-lettered by
    # the broker straight back to the consumer's own queue (default exchange, queue name).
    channel.queue_declare(retry_queue(queue), durable=True, arguments={
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue})
    channel.queue_declare(DEAD_LETTER_QUEUE, durable=True)


def persistent(envelope_type, message_id, correlation_id, headers=None):
    """Return the AMQP properties of a persistent JSON message."""
    return pika.BasicProperties(
        content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent,
        type=envelope_type, message_id=message_id, correlation_id=correlation_id,
        headers=headers or {})
