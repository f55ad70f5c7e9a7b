"""The broker topology as data: one topic exchange for all events, and per consumer queue a
retry queue and the shared dead-letter queue.

    publisher --(routing key = event type)--> orders.events (topic)
        --> <service>.<name> queue --(fails)--> <queue>.retry --(TTL expires)--> <queue>
                                   --(fails N times or poison)--> dead-letters

Every queue is durable and every message persistent, so a broker restart loses nothing. On a
cluster (QUEUE_TYPE=quorum) every queue is also replicated: see queue_arguments().
Each service declares its own queue and bindings (see its `subscriptions.py`): no central list
names the services, which is what lets a new one join without changing the others.

Topology before work: a queue that does not exist yet receives nothing, so an event published
before a subscriber first declared its queue is lost for that subscriber (the tracker binds "#",
so the event is still routable and the publisher's confirm does not notice). So the whole
topology is declared once, before any service accepts work:

    python -m shared.messaging.topology [FOLDER]     (the runner runs it before any program)

FOLDER (default: CHOREO_SERVICES_DIR, the choreographed variant) holds one folder per service
with a `subscriptions.py` whose SUBSCRIPTIONS maps each queue to its handlers: read as data,
so this module names no service and imports no variant until it is told where to look.
"""
import argparse
import importlib
import logging
import sys
from pathlib import Path

import pika
from pika.exceptions import AMQPError
from tenacity import (before_sleep_log, retry, retry_if_exception_type, stop_after_delay,
                      wait_exponential_jitter)

from shared.messaging.connection import connect
from shared.runtime import config

EXCHANGE = "orders.events"
DEAD_LETTER_QUEUE = "dead-letters"

# Headers this project adds to a message on its way through retries and dead-lettering.
ATTEMPTS_HEADER = "x-attempts"
REASON_HEADER = "x-dead-reason"
ORIGIN_HEADER = "x-original-queue"


def retry_queue(queue):
    """Return the name of the queue where a failed message waits before its next attempt."""
    return f"{queue}.retry"


def declare_exchange(channel, exchange=EXCHANGE):
    """Declare the events exchange, or another topic exchange (idempotent)."""
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)


def queue_arguments(role, queue=None, kind=None):
    """Return the arguments of a queue of this topology: `role` is "consumer", "retry" (the
    retry queue of `queue`) or "dead-letters"; `kind` is QUEUE_TYPE's (classic or quorum)."""
    back_to_queue = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue}
    if (kind or config.queue_type()) == "quorum":
        return _quorum_arguments(role, back_to_queue)
    return back_to_queue if role == "retry" else {}  # what a single node has always declared


def _quorum_arguments(role, back_to_queue):
    # Trade-off 96: on a cluster every queue is a quorum queue (a Raft log on three nodes): a
    # message is confirmed to its publisher only once a majority stored it, so a node's death
    # loses nothing and its queues carry on under a new leader. What changes, and why:
    # - the broker itself dead-letters (a retry queue's expired message back to its queue, a
    #   consumer queue's over-delivered one to the dead letters), and by default a quorum
    #   queue does that at most once: a node lost in between would lose the message. The
    #   at-least-once strategy keeps it until the target queue confirmed it, and RabbitMQ
    #   accepts that strategy only with `overflow: reject-publish` (no length limit is set,
    #   so it refuses nothing; a refusal would reach the relay as a nack, parked and retried);
    # - a delivery limit: a message handed out QUEUE_DELIVERY_LIMIT times without an ack (it
    #   crashes its consumer each time) is dead-lettered by the broker; the consumer's own
    #   MAX_ATTEMPTS (retry queue, then dead letters with a reason) still handles every
    #   failure it survives, so the limit is set well above it;
    # - no exclusive or non-durable queue: this topology has none, and must keep it so.
    # The price: every publish and ack is a Raft write replicated to two other nodes (CPU and
    # latency, measured in docs/deploy.md), and a queue's type cannot be changed in place:
    # a broker's queues of the other type must be deleted first (PRECONDITION_FAILED).
    # Each leader goes to the node with the fewest, not to the one the topology command
    # happened to connect to: the work of leading spreads over the three nodes.
    quorum = {"x-queue-type": "quorum", "x-queue-leader-locator": "balanced"}
    at_least_once = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    if role == "retry":
        return {**quorum, **back_to_queue, **at_least_once}
    if role == "consumer":
        return {**quorum, **at_least_once, "x-delivery-limit": config.delivery_limit(),
                "x-dead-letter-exchange": "", "x-dead-letter-routing-key": DEAD_LETTER_QUEUE}
    return quorum


def declare_dead_letter_queue(channel):
    """Declare the one dead-letter queue (idempotent)."""
    channel.queue_declare(DEAD_LETTER_QUEUE, durable=True,
                          arguments=queue_arguments("dead-letters"))


def declare_consumer_queue(channel, queue, routing_keys, exchange=EXCHANGE):
    """Declare a consumer's queue with its bindings (on the events exchange unless told
    another), its retry queue and the dead-letter queue."""
    declare_exchange(channel, exchange)
    channel.queue_declare(queue, durable=True, arguments=queue_arguments("consumer", queue))
    # Trade-off 7: each service binds its own queue to the events it wants; nothing central
    # lists the services, so a new one joins alone (C2). Bindings are only ever added: a key
    # a service stops handling stays bound until someone unbinds it by hand.
    for key in routing_keys:
        channel.queue_bind(queue, exchange, routing_key=key)
    # A message in the retry queue expires after its per-message TTL and is dead-lettered by
    # the broker straight back to the consumer's own queue (default exchange, queue name).
    channel.queue_declare(retry_queue(queue), durable=True,
                          arguments=queue_arguments("retry", queue))
    declare_dead_letter_queue(channel)


def persistent(envelope_type, message_id, correlation_id, headers=None):
    """Return the AMQP properties of a persistent JSON message."""
    return pika.BasicProperties(
        content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent,
        type=envelope_type, message_id=message_id, correlation_id=correlation_id,
        headers=headers or {})


def subscriptions_in(folder):
    """Return {queue: routing keys} of every `<service>/subscriptions.py` under `folder`."""
    found, folder = {}, Path(folder).resolve()
    sys.path.insert(0, str(folder))
    try:
        for path in sorted(folder.glob("*/subscriptions.py")):
            module = importlib.import_module(f"{path.parent.name}.subscriptions")
            found.update({queue: sorted(handlers) for queue, handlers in
                          module.SUBSCRIPTIONS.items()})
    finally:  # forget the variant's modules: another variant may have packages of those names
        sys.path.remove(str(folder))
        for name in [n for n, m in sys.modules.items()
                     if str(getattr(m, "__file__", None) or "").startswith(str(folder))]:
            del sys.modules[name]
    return found


def declare_all(channel, subscriptions):
    """Declare the exchange and, for every subscription, its queue, bindings and retry queue."""
    for queue, routing_keys in subscriptions.items():
        declare_consumer_queue(channel, queue, routing_keys)


@retry(retry=retry_if_exception_type((AMQPError, OSError)),
       wait=wait_exponential_jitter(multiplier=0.2, max=5), stop=stop_after_delay(60),
       before_sleep=before_sleep_log(logging.getLogger("topology"), logging.WARNING),
       reraise=True)
def declare_when_the_broker_answers(declare):
    """Call declare(channel); a broker that is still starting (it may pass its healthcheck
    before it takes logins) is tried again with backoff for a minute."""
    connection = connect(config.amqp_url())
    try:
        declare(connection.channel())
    finally:
        connection.close()


def main(argv=None):
    """Declare the whole topology on the broker of AMQP_URL, then exit 0."""
    parser = argparse.ArgumentParser(prog="python -m shared.messaging.topology")
    parser.add_argument("folder", nargs="?", type=Path, default=None,
                        help="one folder per service, each with a subscriptions.py")
    folder = parser.parse_args(argv).folder or config.choreo_services_dir()
    subscriptions = subscriptions_in(folder)
    if not subscriptions:
        raise SystemExit(f"topology: no <service>/subscriptions.py under {folder}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    declare_when_the_broker_answers(lambda channel: declare_all(channel, subscriptions))
    logging.getLogger("topology").info("topology: declared %d queues with their retry queues "
                                       "and bindings: %s", len(subscriptions),
                                       ", ".join(subscriptions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
