"""Consumers and relays inside a web process (ORCH_TRANSPORT=amqp): started beside gunicorn's
request threads, and stopped before the process exits.

A gunicorn worker ends with sys.exit(): Python then finalizes the interpreter while daemon
threads are frozen wherever they were, a pika connection half-way through a frame, a database
connection inside a transaction. Finalizing around them held each worker past its master's
graceful timeout, and each program past supervisord's stop limit (SIGKILL). So at exit every
consumer is asked to stop consuming (its unacked deliveries go back to the queue when its
connection closes; nothing was acked before its commit) and every relay to stop after its
current batch, and the process waits for them, a bounded time. The choreographed services'
worker process (orders-choreo/service_worker.py) needs none of this: nothing but its consumers
and relay runs in it, and it exits at once when asked.
"""
import atexit
import logging
import threading
import time

log = logging.getLogger(__name__)
# Trade-off 83: at exit, the consumers and relays get STOP_WAIT_S together to finish what they
# hold (a batch being applied and acked, a batch being confirmed) and close their connections
# cleanly: the broker requeues at once what was not acked, and nothing is frozen mid-frame
# while the interpreter is torn down. The price: a worker's exit takes up to that long, within
# its 2 s graceful timeout; a thread still busy after it is abandoned (safe: ack after commit,
# mark sent after confirm).
STOP_WAIT_S = 1.0


def start(runnables):
    """Run each runnable (.run(), .stop(), .name) in a daemon thread; stop them all at exit."""
    threads = [threading.Thread(target=r.run, name=r.name, daemon=True) for r in runnables]
    for thread in threads:
        thread.start()
    atexit.register(stop, runnables, threads)
    return threads


def stop(runnables, threads, wait_s=STOP_WAIT_S):
    """Ask every runnable to stop, then wait up to `wait_s` in all for their threads."""
    for runnable in runnables:
        runnable.stop()
    deadline = time.monotonic() + wait_s
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    left = [thread.name for thread in threads if thread.is_alive()]
    if left:
        log.warning("still busy at exit, abandoned: %s", ", ".join(left))
