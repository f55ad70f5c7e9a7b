"""GET /orders/<id>?wait=<s> and POST /orders/outcomes?wait=<s> (shared/http/order_waits.py):
the wait's parsing, the watcher that wakes a waiter when its orders leave PENDING, and the bound
on waiting requests. Through
Flask's test client on a real SQLite file; the order leaves PENDING by the domain's own step,
as the orders worker or the outcome command would move it."""
import threading
from types import SimpleNamespace

import pytest

from shared.domain import orders
from shared.http import order_waits
from shared.http.order_waits import EXTENSION, REFUSED_HEADER, OrderWaits
from shared.runtime.db import read_only, transaction
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
    woken = _in_background(lambda: waits.wait([order_id], 30))
    wait_for(lambda: waits.waiting() == 1, timeout=10, every=0.01, message="the waiter")
    _finish(session_factory, order_id)
    final = woken()  # woken by the watcher, not by the end of its 30 s, with the final order
    assert final.keys() == {order_id} and final[order_id]["status"] == orders.COMPLETED
    assert waits.waiting() == 0


def test_a_wait_for_an_order_that_stays_pending_runs_out(session_factory, order_id):
    waits = OrderWaits(session_factory, check_s=0.01, slots=4)
    assert waits.wait([order_id], 0.2) == {}
    assert waits.wait([order_id], 0.2) == {}  # the watcher had stopped: a new one starts


def test_one_waiter_of_many_orders_is_handed_all_that_one_round_found_final(
        session_factory, app, valid_body):
    ids = [app.test_client().post("/orders", json=valid_body).get_json()["order_id"]
           for _ in range(4)]
    waits = OrderWaits(session_factory, check_s=0.3, slots=4)
    woken = _in_background(lambda: waits.wait(ids, 30))
    wait_for(lambda: waits.waiting() == 1, timeout=10, every=0.01, message="the waiter")
    _finish(session_factory, ids[1])
    _finish(session_factory, ids[3])  # both within one round of 0.3 s
    final = woken()
    assert final.keys() == {ids[1], ids[3]}, "one round's finals, all handed to the one waiter"
    assert waits.waiting() == 0


def _ask(app, ids, wait="0"):
    return app.test_client().post(f"/orders/outcomes?wait={wait}", json={"order_ids": ids})


def test_outcomes_sorts_the_asked_orders_into_final_pending_and_unknown(
        app, session_factory, valid_body):
    ids = [app.test_client().post("/orders", json=valid_body).get_json()["order_id"]
           for _ in range(3)]
    _finish(session_factory, ids[0])
    response = _ask(app, [ids[1], "no-such-order", ids[0], ids[2], ids[1]])
    assert response.status_code == 200 and REFUSED_HEADER not in response.headers
    answer = response.get_json()
    assert [order["order_id"] for order in answer["final"]] == [ids[0]]
    assert answer["final"][0]["status"] == "COMPLETED" and "items" in answer["final"][0]
    assert answer["pending"] == [ids[1], ids[2]]  # each once, in the order asked
    assert answer["unknown"] == ["no-such-order"]


class _FinishedBetweenTheReads:
    """A session whose statements each run in a session of their own (as under PostgreSQL's
    READ COMMITTED, where each statement sees the latest commit), finishing the order right
    after the first one: the race of an order that ends while its outcome is being read."""

    def __init__(self, session_factory, order_id):
        self.session_factory, self.order_id, self.reads = session_factory, order_id, 0

    def execute(self, statement, params):
        with read_only(self.session_factory) as session:
            rows = session.execute(statement, params).mappings().all()
        self.reads += 1
        if self.reads == 1:
            _finish(self.session_factory, self.order_id)
        return _Rows(rows)


class _Rows:
    def __init__(self, rows):
        self.rows = rows

    def all(self):
        return [tuple(row.values()) for row in self.rows]

    def mappings(self):
        return SimpleNamespace(all=lambda: self.rows)


def test_an_order_finished_between_the_two_reads_is_final_and_not_also_pending(
        app, session_factory, valid_body):
    done, racing = [app.test_client().post("/orders", json=valid_body).get_json()["order_id"]
                    for _ in range(2)]
    _finish(session_factory, done)  # one final already, so that the whole rows are read
    session = _FinishedBetweenTheReads(session_factory, racing)
    final, pending = order_waits.final_and_pending(session, [done, racing])
    assert session.reads == 2  # the first read saw `racing` PENDING, the second one final
    assert final.keys() == {done, racing} and final[racing]["status"] == orders.COMPLETED
    assert pending == []


def test_outcomes_waits_until_one_of_the_orders_is_final(app, session_factory, valid_body):
    ids = [app.test_client().post("/orders", json=valid_body).get_json()["order_id"]
           for _ in range(3)]
    answer = _in_background(lambda: _ask(app, ids, wait="10"))
    wait_for(lambda: _waits(app).waiting() == 1, timeout=10, every=0.01,
             message="the waiting request")
    _finish(session_factory, ids[2])
    response = answer()
    assert response.status_code == 200
    assert [o["order_id"] for o in response.get_json()["final"]] == [ids[2]]
    assert response.get_json()["pending"] == ids[:2]
    assert _waits(app).waiting() == 0


def test_outcomes_answers_at_once_when_one_is_already_final_or_none_is_known(
        app, session_factory, valid_body):
    ids = [app.test_client().post("/orders", json=valid_body).get_json()["order_id"]
           for _ in range(2)]
    _finish(session_factory, ids[0])
    assert _ask(app, ids, wait="10").get_json()["pending"] == [ids[1]]  # not after 10 s
    assert _ask(app, ["gone-1", "gone-2"], wait="10").get_json()["unknown"] == ["gone-1", "gone-2"]
    ran_out = _ask(app, [ids[1]], wait="0.2").get_json()
    assert ran_out == {"final": [], "pending": [ids[1]], "unknown": []}


@pytest.mark.parametrize("body", [{}, [], {"order_ids": []}, {"order_ids": "abc"},
                                  {"order_ids": [1, 2]}, {"order_ids": [""]},
                                  {"order_ids": ["x" * 201]}, {"order_ids": ["a"] * 501}])
def test_a_bad_outcomes_request_is_a_400_with_the_error_shape(app, body):
    response = app.test_client().post("/orders/outcomes", json=body)
    assert response.status_code == 400, (body, response.get_json())
    assert response.get_json()["error"]["code"] == "invalid_request"


def test_outcomes_with_a_bad_wait_or_a_body_not_json_is_refused(app):
    bad_wait = _ask(app, ["a"], wait="nan")
    assert bad_wait.status_code == 400 and "wait" in bad_wait.get_json()["error"]["fields"]
    not_json = app.test_client().post("/orders/outcomes", data="order_ids=a")
    assert not_json.status_code == 415
    malformed = app.test_client().post("/orders/outcomes", data="{",
                                       content_type="application/json")
    assert malformed.status_code == 400


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


def test_outcomes_finding_no_free_slot_answers_at_once_with_the_refusal(
        monkeypatch, session_factory, valid_body):
    monkeypatch.setenv("ORDER_WAIT_SLOTS", "1")
    app = create_test_app(session_factory, FakeSaga())
    ids = [app.test_client().post("/orders", json=valid_body).get_json()["order_id"]
           for _ in range(2)]
    first = _in_background(lambda: _ask(app, ids[:1], wait="10"))
    wait_for(lambda: _waits(app).waiting() == 1, timeout=10, every=0.01,
             message="the first waiting request")
    refused = _ask(app, ids, wait="10")  # would block 10 s if waited
    assert refused.headers[REFUSED_HEADER] == "slots"
    assert refused.get_json() == {"final": [], "pending": ids, "unknown": []}
    _finish(session_factory, ids[0])
    assert first().get_json()["final"][0]["order_id"] == ids[0]
