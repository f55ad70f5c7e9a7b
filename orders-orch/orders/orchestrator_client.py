"""How the orders service talks to the orchestrator replicas (orchestrated variant only).

Requests are spread over the replicas at random; a replica that refuses the connection is
skipped for the next one. Whichever replica is asked forwards to the shard's owner.
Twin: none; in the choreographed variant the orders service only publishes `order.placed`.
"""
import logging
import random

import requests

from shared import config, http_session

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
        except requests.ConnectionError as exc:  # refused: this replica is down, try another
            log.warning("orchestrator %s unreachable: %s", url, exc)
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


def _spread():
    urls = config.orchestrator_urls()
    first = random.randrange(len(urls))
    return urls[first:] + urls[:first]
