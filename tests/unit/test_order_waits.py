"""GET /orders/<id>?wait=<s> (shared/http/order_waits.py): the wait's parsing, the watcher that
wakes a waiter when its order leaves PENDING, and the bound on waiting requests. Through
Flask's test client on a real SQLite file; the order leaves PENDING by the domain's own step,
as the orders worker or the outcome command would move it."""
import threading

import pytest

from shared.domain import orders
from shared.http.order_waits import EXTENSION, REFUSED_HEADER, OrderWaits
from shared.runtime.db import transaction
from tests.support import wait_for
from tests.unit.test_web import FakeSaga, create_test_app


@pytest.fixture
def app(session_factory):
    """Give an orders app built as a variant builds it."""
    return create_test_app(session_factory, FakeSaga())


@pytest.fixture
def order_id(app, valid_body):
    """Give the id of a new PENDING order."""
    return app.test_client().post("/orders", json=valid_body).get_json()["order_id"]


def _waits(app):
    """Return the app's OrderWaits (one per process, as in a gunicorn worker)."""
    return app.extensions[EXTENSION]


def _in_background(call):
    """Run call() in a thread; return a function that joins it and gives its result."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=call()), daemon=True)
    thread.start()
    return lambda: (thread.join(30), result["value"])[1]


def _finish(session_factory, order_id):
    with transaction(session_factory) as session:
        assert orders.finish(session, order_id, orders.COMPLETED)


@pytest.mark.parametrize("wait", ["soon", "-1", "-0.5", "nan", "inf", "1e999", "10.01", "",
                                  "\u0663", "1_0"])
def test_a_bad_wait_is_a_400_with_the_error_shape(app, order_id, wait):
    for path in (f"/orders/{order_id}", "/orders/no-such-order"):
        response = app.test_client().get(f"{path}?wait={wait}")
        assert response.status_code == 400, (wait, response.get_json())
        assert response.get_json()["error"]["code"] == "invalid_request"
        assert "wait" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("wait", ["0", "0.0", "0.2", ".2", "2e-1"])
def test_a_good_wait_answers_200_with_the_order_and_an_unknown_one_404(app, order_id, wait):
    client = app.test_client()
    assert client.get(f"/orders/{order_id}?wait={wait}").get_json()["status"] == "PENDING"
    assert client.get(f"/orders/no-such-order?wait={wait}").status_code == 404


def test_the_watcher_wakes_a_waiter_when_its_order_leaves_pending(session_factory, order_id):
    waits = OrderWaits(session_factory, check_s=0.01, slots=4)
    woken = _in_background(lambda: waits.wait(order_id, 30))
    wait_for(lambda: waits.waiting() == 1, timeout=10, every=0.01, message="the waiter")
    _finish(session_factory, order_id)
    final = woken()  # woken by the watcher, not by the end of its 30 s, with the final order
    assert final["order_id"] == order_id and final["status"] == orders.COMPLETED
    assert waits.waiting() == 0


def test_a_wait_for_an_order_that_stays_pending_runs_out(session_factory, order_id):
    waits = OrderWaits(session_factory, check_s=0.01, slots=4)
    assert waits.wait(order_id, 0.2) is None
    assert waits.wait(order_id, 0.2) is None  # the watcher had stopped: a new one starts


def test_a_waiting_request_answers_with_the_final_order(app, session_factory, order_id):
    answer = _in_background(lambda: app.test_client().get(f"/orders/{order_id}?wait=10"))
    wait_for(lambda: _waits(app).waiting() == 1, timeout=10, every=0.01,
             message="the waiting request")
    _finish(session_factory, order_id)
    response = answer()
    assert response.status_code == 200 and response.get_json()["status"] == "COMPLETED"
    assert REFUSED_HEADER not in response.headers


def test_a_wait_finding_no_free_slot_is_answered_at_once_with_the_refusal(
        monkeypatch, session_factory, valid_body):
    monkeypatch.setenv("ORDER_WAIT_SLOTS", "1")
    app = create_test_app(session_factory, FakeSaga())
    order_id = app.test_client().post("/orders", json=valid_body).get_json()["order_id"]
    first = _in_background(lambda: app.test_client().get(f"/orders/{order_id}?wait=10"))
    wait_for(lambda: _waits(app).waiting() == 1, timeout=10, every=0.01,
             message="the first waiting request")

    refused = app.test_client().get(f"/orders/{order_id}?wait=10")  # would block 10 s if waited
    assert refused.status_code == 200 and refused.get_json()["status"] == "PENDING"
    assert refused.headers[REFUSED_HEADER] == "slots"
    assert _waits(app).waiting() == 1  # the first one still waits

    _finish(session_factory, order_id)
    assert first().get_json()["status"] == "COMPLETED"
    other = app.test_client().post("/orders", json=valid_body).get_json()["order_id"]
    again = app.test_client().get(f"/orders/{other}?wait=0.1")  # the slot was given back
    assert again.get_json()["status"] == "PENDING" and REFUSED_HEADER not in again.headers
