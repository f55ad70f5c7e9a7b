"""GET /orders/<id>?wait=<s> and POST /orders/outcomes?wait=<s> in both variants, through the
runner: an order held PENDING (its payments stopped) is answered when the wait is over; a wait
that spans payments' return is answered with the final order; one request for many orders
answers when the first of them is final; a bad wait is a 400; waits beyond a process's slots
are answered at once with `Wait-Refused: slots`."""
import threading
import time

import pytest
import requests

from tests.support import order, wait_final, wait_for

REFUSED = "Wait-Refused"


@pytest.fixture
def payments_program(system):
    """The program that does the payments work in this variant."""
    return {"choreo": "payments-worker", "orch": "payments-api"}[system.variant]


def _place(http, base):
    response = http.post(f"{base}/orders", json=order(sku="MUG-BLUE"), timeout=60)
    assert response.status_code in (201, 202), response.text
    return response.json()["order_id"]


def _wait_in_background(url, wait):
    """GET url?wait=<wait> in a thread of its own (its own connection); return a function
    that gives (the response, when it came back)."""
    result = {}

    def ask():
        response = requests.get(url, params={"wait": wait}, timeout=wait + 30)
        result.update(response=response, at=time.monotonic())

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return lambda: (thread.join(wait + 40), result)[1]


def _answers(url):
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _restart_orders_api(system, *settings):
    system.runner("restart-with", system.variant, "orders-api", *settings)
    wait_for(lambda: _answers(f"{system.url('orders')}/health"), timeout=60,
             message="the orders API to answer again")


def test_a_wait_answers_pending_when_over_and_final_once_payments_is_back(
        system, http, urls, payments_program):
    base = urls["orders"]
    system.runner("stop-service", system.variant, payments_program)
    try:
        order_id = _place(http, base)
        asked = time.monotonic()
        held = http.get(f"{base}/orders/{order_id}", params={"wait": "1"}, timeout=30)
        assert held.status_code == 200 and held.json()["status"] == "PENDING"
        assert time.monotonic() - asked >= 0.9, "it answered at once instead of waiting"
        spanning = _wait_in_background(f"{base}/orders/{order_id}", 10)
    finally:
        system.runner("start-service", system.variant, payments_program)
    answer = spanning()["response"]
    assert answer.status_code == 200 and answer.json()["status"] == "COMPLETED"


def test_one_request_waits_for_many_orders_until_the_first_is_final(
        system, http, urls, payments_program):
    base, result = urls["orders"], {}
    asked = lambda wait, timeout: requests.post(  # noqa: E731
        f"{base}/orders/outcomes", params={"wait": wait}, timeout=timeout,
        json={"order_ids": [*held, "no-such-order"]})
    system.runner("stop-service", system.variant, payments_program)
    try:
        held = [_place(http, base) for _ in range(3)]
        started = time.monotonic()
        answer = asked("1", 30)
        assert time.monotonic() - started >= 0.9, "it answered at once instead of waiting"
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"final": [], "pending": held, "unknown": ["no-such-order"]}
        spanning = threading.Thread(target=lambda: result.update(answer=asked("10", 40)))
        spanning.start()
    finally:
        system.runner("start-service", system.variant, payments_program)
    spanning.join(50)
    answer = result["answer"].json()
    assert answer["final"], "the wait spanning payments' return ended with no final order"
    assert {o["status"] for o in answer["final"]} == {"COMPLETED"}
    assert sorted([o["order_id"] for o in answer["final"]] + answer["pending"]) == sorted(held)
    assert answer["unknown"] == ["no-such-order"]
    for order_id in held:
        wait_final(http, base, order_id)


def test_a_bad_wait_is_a_400_with_the_error_shape(system, http, urls):
    order_id = _place(http, urls["orders"])
    for wait in ("soon", "-1", "nan", "inf", "10.5", ""):
        response = http.get(f"{urls['orders']}/orders/{order_id}", params={"wait": wait},
                            timeout=10)
        assert response.status_code == 400, (wait, response.text)
        assert response.json()["error"]["fields"].keys() == {"wait"}
    wait_final(http, urls["orders"], order_id)


def test_waits_beyond_the_slots_are_answered_at_once_with_the_refusal(
        system, http, urls, payments_program):
    base = urls["orders"]
    _restart_orders_api(system, "ORDER_WAIT_SLOTS=1")  # one per gunicorn worker: two in all
    try:
        system.runner("stop-service", system.variant, payments_program)
        try:
            order_id = _place(http, base)
            three = [_wait_in_background(f"{base}/orders/{order_id}", 3) for _ in range(3)]
            results = [answer() for answer in three]
        finally:
            system.runner("start-service", system.variant, payments_program)
    finally:
        _restart_orders_api(system, "ORDER_WAIT_SLOTS=")
    assert all(r["response"].json()["status"] == "PENDING" for r in results)
    refused = [r for r in results if r["response"].headers.get(REFUSED) == "slots"]
    waited = [r for r in results if REFUSED not in r["response"].headers]
    assert refused and waited, [r["response"].headers for r in results]
    assert max(r["at"] for r in refused) < min(r["at"] for r in waited), "refused at once"
    assert wait_final(http, base, order_id)["status"] == "COMPLETED"
