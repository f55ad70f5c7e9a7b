"""load/outcomes.py: the users of a Locust process learn their orders' outcomes from a few
requests for many orders, not one request each. A small fake stands for the orders API's
`POST /orders/outcomes`: it answers each request with the orders a test made final."""
import time

import gevent
import gevent.event
import pytest

from load.outcomes import Outcomes, UnknownOrder


class Response:
    def __init__(self, status_code, answer=None, headers=None):
        self.status_code, self._answer, self.headers = status_code, answer, headers or {}
        self.error, self.failed = None, None

    def json(self):
        if self._answer is None:
            raise ValueError("no JSON")
        return self._answer

    def failure(self, text):
        self.failed = text

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False


class FakeOrdersApi:
    """Answers a request as the server would: at once when one asked order is final (or all
    are unknown), else when one becomes final, else after the wait with all still PENDING."""
    base_url = "http://127.0.0.1:1"

    def __init__(self, known):
        self.known, self.final, self.asked = set(known), {}, []
        self.refuse_next = 0
        self._changed = gevent.event.Event()

    def finish(self, *order_ids):
        for order_id in order_ids:
            self.final[order_id] = {"order_id": order_id, "status": "COMPLETED"}
        self._changed.set()
        self._changed = gevent.event.Event()

    def post(self, url, name, json, catch_response):
        ids = json["order_ids"]
        self.asked.append(list(ids))
        if self.refuse_next:
            self.refuse_next -= 1
            return Response(503)
        deadline = time.monotonic() + float(url.split("wait=")[1])
        while not self._final(ids) and set(ids) & self.known and time.monotonic() < deadline:
            self._changed.wait(deadline - time.monotonic())
        pending = [i for i in ids if i in self.known and i not in self.final]
        return Response(200, {"final": self._final(ids), "pending": pending,
                              "unknown": [i for i in ids if i not in self.known]})

    def _final(self, ids):
        return [self.final[i] for i in ids if i in self.final]


def _waiting(outcomes, order_ids, timeout_s=5):
    """Start one user's wait per order; return the greenlets."""
    return {i: gevent.spawn(outcomes.wait, i, timeout_s) for i in order_ids}


def test_many_orders_are_asked_for_in_few_requests_and_each_user_gets_its_own():
    api = FakeOrdersApi(known=[f"o{n}" for n in range(10)])
    outcomes = Outcomes(api, wait_s=5, at_once=2)
    users = _waiting(outcomes, [f"o{n}" for n in range(10)])
    gevent.sleep(0.01)
    assert len(api.asked) == 1 and len(api.asked[0]) == 10, "one request for the ten orders"
    api.finish("o3", "o7")
    gevent.sleep(0.01)
    assert users["o3"].value["order_id"] == "o3" and users["o7"].value["order_id"] == "o7"
    assert sorted(api.asked[1]) == sorted(f"o{n}" for n in range(10) if n not in (3, 7))
    api.finish(*[f"o{n}" for n in range(10)])
    gevent.joinall(users.values(), timeout=2)
    assert all(user.value["status"] == "COMPLETED" for user in users.values())
    assert len(api.asked) <= 4 and outcomes.in_flight() == 0


def test_an_order_placed_while_the_requests_are_in_flight_joins_the_next_one():
    api = FakeOrdersApi(known=["a", "b", "c"])
    outcomes = Outcomes(api, wait_s=5, at_once=1)
    first = _waiting(outcomes, ["a"])
    gevent.sleep(0.01)
    later = _waiting(outcomes, ["b", "c"])
    gevent.sleep(0.01)
    assert api.asked == [["a"]], "no second request while the one allowed is in flight"
    api.finish("c")  # the request in flight (for a) is not answered by it
    gevent.sleep(0.01)
    assert not later["c"].ready()
    api.finish("a")
    gevent.joinall([*first.values(), later["c"]], timeout=2)
    assert first["a"].value["status"] == "COMPLETED" and later["c"].value["status"] == "COMPLETED"
    assert api.asked[1] == ["b", "c"]


def test_requests_in_flight_never_exceed_the_limit_nor_the_ids_per_request():
    ids = [f"o{n}" for n in range(25)]
    api = FakeOrdersApi(known=ids)
    outcomes = Outcomes(api, wait_s=5, at_once=2, per_request=10)
    _waiting(outcomes, ids)
    gevent.sleep(0.01)
    assert [len(asked) for asked in api.asked] == [10, 10]
    assert outcomes.in_flight() == 2
    api.finish(*ids)
    gevent.sleep(0.05)
    assert outcomes.in_flight() == 0


def test_an_unknown_order_fails_its_user_and_a_wait_past_its_time_gives_none():
    api = FakeOrdersApi(known=["slow"])
    outcomes = Outcomes(api, wait_s=0.05, at_once=2)
    with pytest.raises(UnknownOrder, match="lost"):
        outcomes.wait("lost", 2)
    assert outcomes.wait("slow", 0.2) is None
    gevent.sleep(0.1)
    assert outcomes.in_flight() == 0, "nobody waits for it any more: it is not asked again"


def test_after_a_failed_request_the_same_orders_are_asked_for_again_after_a_pause():
    api = FakeOrdersApi(known=["a"])
    api.refuse_next = 2
    outcomes = Outcomes(api, wait_s=5, at_once=1)
    user = _waiting(outcomes, ["a"])["a"]
    gevent.sleep(0.05)
    assert api.asked == [["a"]], "paused after the failure, not asking again at once"
    gevent.sleep(0.4)
    assert len(api.asked) == 3
    api.finish("a")
    assert user.get(timeout=2)["status"] == "COMPLETED"
