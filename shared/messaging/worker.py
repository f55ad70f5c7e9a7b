"""Run a choreographed service's worker process: its consumers and its outbox relay.

Each consumer and the relay get a thread and a broker connection of their own (pika's
BlockingConnection must not be shared between threads). Each queue gets CONSUMER_THREADS
competing consumers: the broker spreads the queue's messages over them. Stopping the process at any moment
is safe: unacked messages are redelivered and their transactions were rolled back.
"""
import logging
import os
import signal
import sys
import threading

from shared import config, logs, tracing
from shared.messaging.consumer import Consumer
from shared.messaging.relay import OutboxRelay

log = logging.getLogger(__name__)


def run_worker(service, session_factory, subscriptions, prefetch=None, own_dedup=(),
               untraced=()):
    """Start the relay and CONSUMER_THREADS consumers per (queue, handlers) pair; block until
    SIGTERM. `prefetch` maps a queue to its own window (the others: PREFETCH_COUNT); the
    queues in `own_dedup` have handlers that drop a duplicate by themselves, so their
    consumers record no message ids (Trade-off 51); the deliveries of the queues in
    `untraced` make no spans (Trade-off 52)."""
    logs.setup(f"{service}-worker")
    tracing.setup(service, f"{service}-worker")  # tracing
    # Trade-off 55: the worker yields the CPU to the APIs. A customer waits on POST /orders;
    # nobody waits on a worker from one millisecond to the next, because the queue holds its
    # work. At the same priority the workers' bursts (a batch, a relay round) kept the orders
    # API off the two cores: at half the drain rate POST /orders took 87 to 111 ms at the 99th
    # percentile, 55 to 85 since (docs/performance.md). The price: when the machine is
    # saturated, orders are accepted as fast as ever while those already accepted wait longer
    # in the queues.
    os.nice(config.worker_nice())
    amqp_url = config.amqp_url()
    runnables = [Consumer(service, queue, handlers, session_factory, amqp_url, number,
                          (prefetch or {}).get(queue), dedup=queue not in own_dedup,
                          traced=queue not in untraced)
                 for queue, handlers in subscriptions.items()
                 for number in range(config.consumer_threads())]
    if config.outbox_relay_enabled():
        runnables.append(OutboxRelay(session_factory, amqp_url))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for runnable in runnables:
        threading.Thread(target=_guarded(runnable.run, stop), name=runnable.name,
                         daemon=True).start()
    log.info("%s worker started: %s", service, ", ".join(r.name for r in runnables))
    stop.wait()
    log.info("%s worker stopping", service)
    sys.exit(0)


def _guarded(run, stop):
    def target():
        try:
            run()
        except Exception:
            log.exception("worker thread died; stopping the process so the supervisor restarts it")
        stop.set()
    return target
