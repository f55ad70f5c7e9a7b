"""The broker topology as data: one topic exchange for all events, and per consumer queue a
retry queue and the shared dead-letter queue.

    publisher --(routing key = event type)--> orders.events (topic)
        --> <service>.<name> queue --(fails)--> <queue>.retry --(TTL expires)--> <queue>
                                   --(fails N times or poison)--> dead-letters

Every queue is durable and every message persistent, so a broker restart loses nothing.
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


def declare_consumer_queue(channel, queue, routing_keys, exchange=EXCHANGE):
    """Declare a consumer's queue with its bindings (on the events exchange unless told
    another), its retry queue and the dead-letter queue."""
    declare_exchange(channel, exchange)
    channel.queue_declare(queue, durable=True)
    # Trade-off 7: each service binds its own queue to the events it wants; nothing central
    # lists the services, so a new one joins alone (C2). Bindings are only ever added: a key
    # a service stops handling stays bound until someone unbinds it by hand.
    for key in routing_keys:
        channel.queue_bind(queue, exchange, routing_key=key)
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
    connection = pika.BlockingConnection(pika.URLParameters(config.amqp_url()))
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
