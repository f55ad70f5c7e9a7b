"""Wait until a variant has nothing left to do, so that the audit reads the end state.

An audit that stops at the first clean-looking snapshot can pass while work is still on its
way: a message waiting out its retry delay in `<queue>.retry` shows in no order's status yet.
So the audit runs only once the variant is quiet:

- choreographed: no order PENDING, and every consumer queue AND its retry queue empty, for
  QUIET_READINGS readings in a row (a message a consumer holds unacked is in no queue's count,
  but it cannot stay invisible for several readings without its order staying PENDING);
- orchestrated: no order PENDING and no saga unfinished (running, waiting or compensating).

The dead-letter queue is not work in progress: what lies there is listed by the audit.
"""
import time

import requests
from pika.exceptions import AMQPError

from audit.fetch import all_items
from ops.queues import CONSUMER_QUEUES, QueueWatch

QUIET_READINGS = 3
EVERY_S = 0.5


def busy(variant, urls, queues=None, orchestrator_url=None):
    """Return what is still going on (empty when quiet), one line per kind of work."""
    with requests.Session() as session:
        pending = all_items(session, urls["orders"], "/orders", "status=PENDING")
        running = (all_items(session, orchestrator_url, "/sagas", "state=running")
                   if variant == "orch" and orchestrator_url else [])
    lines = [f"{len(pending)} order(s) PENDING"] if pending else []
    if running:
        lines.append(f"{len(running)} saga(s) unfinished")
    if queues is not None:
        waiting = waiting_messages(queues)
        if waiting:
            lines.append(f"messages waiting: {waiting}")
    return lines


def waiting_messages(queues):
    """Return {queue: depth} of every consumer or retry queue that is not empty (or unread)."""
    return {q: n for q, n in queues.depths().items() if _work_queue(q) and n != 0}


def _work_queue(name):
    return name in CONSUMER_QUEUES or name.removesuffix(".retry") in CONSUMER_QUEUES


def wait_quiet(variant, urls, timeout_s, amqp_url=None, orchestrator_url=None):
    """Wait until quiet QUIET_READINGS times in a row or the timeout passes; return what was
    still busy at the last reading (empty: quiet)."""
    deadline, in_a_row, last = time.monotonic() + timeout_s, 0, ["not read yet"]
    queues = QueueWatch(amqp_url) if variant == "choreo" and amqp_url else None
    try:
        while in_a_row < QUIET_READINGS:
            try:
                last = busy(variant, urls, queues, orchestrator_url)
            except (requests.RequestException, AMQPError) as exc:  # a service restarting
                last = [f"not answering: {exc!r}"]
            in_a_row = 0 if last else in_a_row + 1
            if last and time.monotonic() > deadline:
                break
            time.sleep(EVERY_S)
    finally:
        if queues is not None:
            queues.close()
    return last
