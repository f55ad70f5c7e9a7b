"""How the load users learn their orders' outcomes: one request waits for many orders.

Every user of a Locust process hands the order it waits for to the process's one `Outcomes`.
It asks the orders API with `POST /orders/outcomes?wait=<s>` for up to `MAX_AWAITED` orders at
once, with at most `LOAD_WAIT_REQUESTS` such requests in flight; the server answers as soon as
any of them is final, with every one its watcher found final in that round. Each final order
goes to its user; the ids still PENDING go back into the next request, with the orders placed
since. So the orders API serves a few requests a second for the whole process, not one per order
(docs/load.md, "Polling and waiting").
"""
import os

import gevent
from gevent.event import AsyncResult, Event

from load import preflight

ASKED = "POST /orders/outcomes?wait"  # the Locust entry of one request (load/results.py reads it)
MAX_AWAITED = 500  # ids per request: the server's limit (shared/http/api_models.py)
# Trade-off 111: an order placed while every request is in flight joins the next one, so its
# outcome may be learned one watcher check (ORDER_WAIT_CHECK_MS) later than a wait of its own
# would learn it, and the Locust entry `order final` includes that delay. The gain: the orders
# API answers one request for several orders instead of one per order (a quarter of a request
# per order in the steady ramp), as a client with many orders in flight spares its server.
# LOAD_WAIT_REQUESTS moves the line: more requests in flight, outcomes seen sooner, more served.
REQUESTS_AT_ONCE = int(os.environ.get("LOAD_WAIT_REQUESTS", "2"))
# After a refused request (no free wait slot) pause from 0.1 s, backing off by a quarter up to
# LOAD_POLL_MAX_S: a server out of wait slots is not asked again at once.
PAUSE_FIRST_S, PAUSE_MAX_S = 0.1, float(os.environ.get("LOAD_POLL_MAX_S", "0.5"))


class UnknownOrder(LookupError):
    """The orders API does not know an order it accepted: a lost order, for the audit to find."""


class Outcomes:
    """The orders one Locust process waits for, asked for together."""

    def __init__(self, session, wait_s, at_once=REQUESTS_AT_ONCE, per_request=MAX_AWAITED):
        self._session, self._wait_s = session, wait_s
        self._at_once, self._per_request = max(1, at_once), per_request
        self._awaited = {}  # order_id -> the AsyncResult its user waits on
        self._unasked = {}  # the awaited ids in no request in flight (a dict: kept in order)
        self._asking = 0
        self._backoff, self._pause_s = preflight.Backoff(), PAUSE_FIRST_S
        self._resumed = Event()  # set: no pause is going on
        self._resumed.set()

    def wait(self, order_id, timeout_s):
        """Return the order once it is final, or None after timeout_s; raise UnknownOrder
        when the orders API does not know it."""
        result = self._awaited[order_id] = AsyncResult()
        self._unasked[order_id] = None
        self._ask_more()
        try:
            return result.get(timeout=timeout_s)
        except gevent.Timeout:
            return None
        finally:
            self._awaited.pop(order_id, None)
            self._unasked.pop(order_id, None)

    def in_flight(self):
        """Return how many requests are in flight now."""
        return self._asking

    def _ask_more(self):
        while self._unasked and self._asking < self._at_once and self._resumed.is_set():
            self._asking += 1
            gevent.spawn(self._ask)

    def _ask(self):
        # The request takes its ids when its greenlet runs, not when it was spawned, so the
        # orders handed over in the meantime go into it too.
        ids = list(self._unasked)[:self._per_request]
        for order_id in ids:
            del self._unasked[order_id]
        answered, pause_s = set(), 0.0
        try:
            if not ids:  # an earlier request took them, or their users stopped waiting
                return
            answer, pause_s = self._request(ids)
            answered = self._hand_out(answer)
        finally:  # the ids still PENDING, or not answered at all, go into a next request
            self._unasked.update(dict.fromkeys(
                i for i in ids if i not in answered and i in self._awaited))
            if pause_s:
                self._resumed.clear()
                gevent.sleep(pause_s)
                self._resumed.set()
            self._asking -= 1
            self._ask_more()

    def _hand_out(self, answer):
        """Give each final order to its user, fail each unknown one; return their ids."""
        answered = set()
        for order in answer.get("final", ()):
            answered.add(order["order_id"])
            if (result := self._awaited.get(order["order_id"])) is not None:
                result.set(order)
        for order_id in answer.get("unknown", ()):
            answered.add(order_id)
            if (result := self._awaited.get(order_id)) is not None:
                result.set_exception(UnknownOrder(f"the orders API does not know {order_id}"))
        return answered

    def _request(self, ids):
        """One POST /orders/outcomes?wait: return (its answer, how long to pause after it)."""
        with self._session.post(f"/orders/outcomes?wait={self._wait_s:.2f}", name=ASKED,
                                json={"order_ids": ids}, catch_response=True) as response:
            if response.status_code != 200:
                if response.status_code:
                    self._backoff.succeeded()
                    response.failure(f"{ASKED} answered {response.status_code}")
                    return {}, self._refused()
                response.failure(f"{preflight.describe(response.error)} ({self._session.base_url})")
                return {}, self._backoff.failed()
            self._backoff.succeeded()
            try:
                answer = response.json()
            except ValueError:
                response.failure(f"{ASKED} answered 200 without JSON")
                return {}, self._refused()
            if "Wait-Refused" in response.headers:
                return answer, self._refused()
            self._pause_s = PAUSE_FIRST_S
            return answer, 0.0

    def _refused(self):
        """Return the pause after a refused or failed request, and lengthen the next one."""
        pause_s, self._pause_s = self._pause_s, min(self._pause_s * 1.25, PAUSE_MAX_S)
        return pause_s
