"""Wait until a variant has nothing left to do, so that the audit reads the end state.

An audit that stops at the first clean-looking snapshot can pass while work is still on its
way: a message waiting out its retry delay in `<queue>.retry`, an event still in a service's
outbox, or a duplicate a consumer holds unacknowledged shows in no order's status yet, and may
land after the snapshot. So the audit runs only once the variant is quiet, for QUIET_READINGS
readings in a row:

- both variants: no order PENDING, and no unsent row in any service's outbox (`GET /outbox`:
  the choreographed relays' events, the orchestrated orders service's handovers);
- orchestrated: no saga unfinished (running, waiting or compensating);
- choreographed: every consumer queue AND its retry queue empty, of ready messages (a passive
  declare, read live) and of unacknowledged ones (RabbitMQ's management API: AMQP does not
  count them). An unknown count is not a zero: the variant is then busy ("unacked unknown").

The management API's counts are samples the broker takes every BROKER_STATS_INTERVAL_MS
(RabbitMQ's collect_statistics_interval: 5 s by default, and the native broker is started with
the same setting), so in choreography the quiet readings must also span one interval and a
little more: a message held unacked through the span is seen.

The dead-letter queue is not work in progress: what lies there is listed by the audit.
"""
import time

import requests
from pika.exceptions import AMQPError

from audit.fetch import all_items
from ops.queues import CONSUMER_QUEUES, QueueWatch
from shared.runtime import config

QUIET_READINGS = 3
EVERY_S = 0.5


# Trade-off 63: quiet only once the unacked counts were sampled inside the quiet span, so a
# message held unacked cannot hide between two samples. It costs every choreographed audit
# one sampling interval of waiting, however idle the broker is (the tests' brokers sample
# every second, RabbitMQ's default is 5 s).
def stats_interval_s():
    """Return the broker's sampling interval in seconds."""
    return config.broker_stats_interval_ms() / 1000


def busy(variant, urls, queues=None, orchestrator_url=None, management_url=None):
    """Return what is still going on (empty when quiet), one line per kind of work."""
    with requests.Session() as session:
        lines = _pending_and_unsent(session, urls)
        if variant == "orch" and orchestrator_url:
            running = all_items(session, orchestrator_url, "/sagas", "state=running")
            lines += [f"{len(running)} saga(s) unfinished"] if running else []
        if management_url is not None:
            lines += _unacked_line(unacked_messages(session, management_url))
    if queues is not None:
        waiting = waiting_messages(queues)
        lines += [f"messages waiting: {waiting}"] if waiting else []
    return lines


def _pending_and_unsent(session, urls):
    pending = all_items(session, urls["orders"], "/orders", "status=PENDING")
    lines = [f"{len(pending)} order(s) PENDING"] if pending else []
    unsent = {name: n for name, n in unsent_events(session, urls).items() if n}
    return lines + ([f"events not sent yet: {unsent}"] if unsent else [])


def unsent_events(session, urls):
    """Return {service: outbox rows not sent yet} of every service (GET /outbox)."""
    found = {}
    for name, url in urls.items():
        response = session.get(f"{url}/outbox", timeout=10)
        response.raise_for_status()
        found[name] = response.json()["unsent"]
    return found


def waiting_messages(queues):
    """Return {queue: depth} of every consumer or retry queue that is not empty (or unread)."""
    return {q: n for q, n in queues.depths().items() if _work_queue(q) and n != 0}


def unacked_messages(session, management_url):
    """Return {queue: messages delivered and not acknowledged} of every consumer or retry queue
    that holds some, read from the management API; None when it does not answer."""
    try:
        response = session.get(management_url, timeout=5,
                               params={"columns": "name,messages_unacknowledged"})
        response.raise_for_status()
        listed = response.json()
    except (requests.RequestException, ValueError):
        return None
    counts = {q["name"]: q.get("messages_unacknowledged") for q in listed
              if _work_queue(q["name"])}
    if None in counts.values():  # a queue the broker has not sampled yet
        return None
    return {name: n for name, n in counts.items() if n}


UNKNOWN = "unacked unknown: the management API did not answer, or has not sampled a queue yet"


def _unacked_line(unacked):
    if unacked is None:
        return [UNKNOWN]
    return [f"messages unacked: {unacked}"] if unacked else []


def _work_queue(name):
    return name in CONSUMER_QUEUES or name.removesuffix(".retry") in CONSUMER_QUEUES


def wait_quiet(variant, urls, timeout_s, amqp_url=None, orchestrator_url=None):
    """Wait until quiet QUIET_READINGS times in a row (in choreography, over the broker's
    stats interval at least) or the timeout passes; return what was still busy at the last reading (empty:
    quiet)."""
    choreo = variant == "choreo" and amqp_url
    where = {"orchestrator_url": orchestrator_url,
             "management_url": config.management_queues_url(amqp_url) if choreo else None,
             "queues": QueueWatch(amqp_url) if choreo else None}
    span = stats_interval_s() + EVERY_S if choreo else 0
    try:
        return _read_until_quiet(variant, urls, time.monotonic() + timeout_s, span, where)
    finally:
        if where["queues"] is not None:
            where["queues"].close()


def _read_until_quiet(variant, urls, deadline, span, where):
    in_a_row, quiet_since, last = 0, None, ["not read yet"]
    while in_a_row < QUIET_READINGS or time.monotonic() - quiet_since < span:
        try:
            last = busy(variant, urls, **where)
        except (requests.RequestException, AMQPError) as exc:  # a service restarting
            last = [f"not answering: {exc!r}"]
        in_a_row = 0 if last else in_a_row + 1
        quiet_since = None if last else (quiet_since or time.monotonic())
        if last and time.monotonic() > deadline:
            break
        time.sleep(EVERY_S)
    return last
