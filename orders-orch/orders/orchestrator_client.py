"""How the orders service talks to the orchestrator replicas (orchestrated variant only).

Requests are spread over the replicas at random; a replica that cannot be connected to is
skipped for the next one. Whichever replica is asked forwards to the shard's owner. A call
that fails after its request may have reached a replica (a reset, a closed connection, a
timeout) is not tried elsewhere: that replica may be driving the saga (see _never_sent).
Twin: none; in the choreographed variant the orders service only publishes `order.placed`.
"""
import logging
import random

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from shared.runtime import config
from commands import http_session

log = logging.getLogger(__name__)
ASYNC = {"Prefer": "respond-async"}  # store the saga and answer 202 at once (handover loop)


def start_saga(facts, correlation_id, wait=True):
    """POST /sagas for an order; return the Response, or None when no replica answered."""
    timeout = (config.orch_sync_budget_ms() + 2000) / 1000 if wait else 5
    headers = {"X-Correlation-Id": correlation_id, **({} if wait else ASYNC)}
    for url in _spread():
        try:
            return http_session.this_thread().post(f"{url}/sagas", json={"order": facts},
                                                   headers=headers, timeout=timeout)
        except requests.ConnectionError as exc:
            if not _never_sent(exc):  # it may be driving the saga: like a timeout, below
                log.warning("orchestrator %s: POST /sagas cut off: %s", url, exc)
                return None
            log.warning("orchestrator %s unreachable: %s", url, exc)  # try another
        except requests.Timeout:  # it may be driving the saga: do not start it elsewhere now
            log.warning("orchestrator %s did not answer POST /sagas in %.1fs", url, timeout)
            return None
    return None


def fetch_saga(order_id, correlation_id):
    """GET /sagas/<order_id> with its log; return (status, body), or None when none answered."""
    for url in _spread():
        try:
            answer = http_session.this_thread().get(
                f"{url}/sagas/{order_id}", timeout=5, headers={"X-Correlation-Id": correlation_id})
            return answer.status_code, answer.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("orchestrator %s: GET /sagas failed: %s", url, exc)
    return None


def _never_sent(exc):
    """True when a ConnectionError happened while connecting (refused, connect timeout,
    unknown host): no byte of the request left, so another replica may be asked."""
    # Trade-off 59: only a failure to connect moves on to the next replica; a reset or a
    # closed connection after the request may have been sent is ambiguous, so the order
    # waits (202) for the handover loop, whose POST /sagas is idempotent per order. A pooled
    # keep-alive connection the server already closed is not such a failure: urllib3 sees
    # it closed and connects afresh before sending. It costs a 202 (the saga starts a loop
    # round later) where another replica might have answered 201: when a replica dies
    # mid-call, and when a server closes an idle connection in the very instant it is
    # reused (gunicorn keeps them 75 s here, runner/processes.py).
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def _spread():
    urls = config.orchestrator_urls()
    first = random.randrange(len(urls))
    return urls[first:] + urls[:first]
