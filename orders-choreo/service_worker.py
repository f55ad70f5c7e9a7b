"""Run a choreographed service's worker process: its consumers and its outbox relay.

Each consumer and the relay get a thread and a broker connection of their own (pika's
BlockingConnection must not be shared between threads). Each service queue gets
CONCURRENCY competing consumers (CONSUMER_THREADS overrides it), the same number as an
orchestrated service's request threads: the broker spreads the queue's messages over them, and
each applies its deliveries one batch at a time. Stopping the process at any moment is safe:
unacked messages are redelivered and their transactions were rolled back.
"""
import logging
import os
import signal
import sys
import threading

from shared import tracing
from shared.messaging.consumer import Consumer, queue_pulse
from shared.messaging.relay import OutboxRelay
from shared.runtime import config, logs

log = logging.getLogger(__name__)


def run_worker(service, session_factory, subscriptions, **options):
    """Start the relay and the consumers of build_consumers(); block until SIGTERM."""
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
    runnables = build_consumers(service, session_factory, amqp_url, subscriptions, **options)
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


def build_consumers(service, session_factory, amqp_url, subscriptions, prefetch=None,
                    consumers=None, own_dedup=(), untraced=()):
    """Return the consumers of a worker: config.consumer_threads() per (queue, handlers) pair,
    or the number `consumers` maps a queue to. `prefetch` maps a queue to its own window (the
    others: PREFETCH_COUNT); the queues in `own_dedup` have handlers that drop a duplicate by
    themselves, so their consumers record no message ids (Trade-off 51); the deliveries of the
    queues in `untraced` make no spans (Trade-off 52)."""
    # Trade-off 71: one setting, CONCURRENCY, is both the orchestrated services' request threads
    # and the choreographed services' consumers per queue, so a load test compares the two
    # styles of coordination and not two thread budgets (with 2 consumers against 16 threads,
    # 200 ms per payment gave 8.9 finished orders/s against 38). The cost: per process, a
    # thread, an AMQP connection and up to PREFETCH_COUNT unacked messages per consumer, 16 of
    # each per queue, most of them idle when the load is light.
    built = []
    for queue, handlers in subscriptions.items():
        # Trade-off 72: one heartbeat row per queue and process, written by whichever of the
        # queue's consumers is due first, not one per consumer: 16 consumers beating every 2 s
        # were 8 write transactions a second per queue, each taking SQLite's write lock from
        # the handlers. The cost: /health sees the queue consumed while any one of its consumers
        # runs, not each consumer (a consumer that lost its connection reconnects by itself).
        pulse = queue_pulse(session_factory, queue)
        count = (consumers or {}).get(queue) or config.consumer_threads()
        built += [Consumer(service, queue, handlers, session_factory, amqp_url, number,
                           (prefetch or {}).get(queue), dedup=queue not in own_dedup,
                           traced=queue not in untraced, pulse=pulse)
                  for number in range(count)]
    return built


def _guarded(run, stop):
    def target():
        try:
            run()
        except Exception:
            log.exception("worker thread died; stopping the process so the supervisor restarts it")
        stop.set()
    return target
