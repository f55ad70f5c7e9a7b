"""One order, one trace: from POST /orders to the notification, in both variants, for every
outcome, linked parent to child across HTTP, the outbox, the broker and the saga row."""
import pytest
import requests

from ops.deadletters import list_dead_letters, replay_dead_letters
from tests.support import OUTCOMES, wait_final, wait_for
from tests.tracing.conftest import TRACING_AMQP_URL, settled_trace

# The services each outcome involves (the orchestrated variant adds the orchestrator).
INVOLVED = {
    "completed": {"orders", "inventory", "payments", "shipping", "notifications"},
    "out_of_stock": {"orders", "inventory", "notifications"},
    "payment_declined": {"orders", "inventory", "payments", "notifications"},
    "shipping_unavailable": {"orders", "inventory", "payments", "shipping", "notifications"},
}


def involved(variant, outcome):
    return INVOLVED[outcome] | ({"orchestrator"} if variant == "orch" else set())


@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
def test_an_order_of_each_outcome_yields_exactly_one_linked_trace(traced, http, outcome):
    body, status, reason = OUTCOMES[outcome]
    order = http.post(f"{traced.url('orders')}/orders", json=body, timeout=30).json()
    assert wait_final(http, traced.url("orders"), order["order_id"])["status"] == status
    found = settled_trace(traced, order["order_id"], involved(traced.variant, outcome))
    assert len(found) == 1, f"{len(found)} traces for one order"
    spans = next(iter(found.values()))
    by_id = {s["span_id"]: s for s in spans}
    roots = [s for s in spans if s["parent_id"] not in by_id]
    assert [r["name"] for r in roots] == ["POST /orders"], "one root: the order's request"
    assert {s["service"] for s in spans} >= involved(traced.variant, outcome)
    failed = [s for s in spans if s["status"] == "ERROR"]
    if reason:  # the failing step is marked, with the saga's reason
        assert any(reason in (s.get("error") or "") for s in failed), failed
    else:
        assert not failed, failed
    if traced.variant == "choreo":
        _each_delivery_is_a_child_of_its_publish(spans, by_id)
        tracker = [s["name"] for s in spans if s["service"] == "orders" and s["kind"] == "CONSUMER"
                   and s["attributes"]["messaging.destination.name"] == "orders.tracker"]
        assert not tracker, "the tracker's deliveries make no spans (Trade-off 52)"
    else:
        _each_step_is_a_child_of_the_saga(spans, by_id)


def _each_delivery_is_a_child_of_its_publish(spans, by_id):
    deliveries = [s for s in spans if s["kind"] == "CONSUMER"]
    assert deliveries
    for delivery in deliveries:
        publish = by_id[delivery["parent_id"]]
        assert publish["kind"] == "PRODUCER"
        assert publish["attributes"]["messaging.message.id"] == \
            delivery["attributes"]["messaging.message.id"]
    first = by_id[[s for s in spans if s["name"] == "publish order.placed"][0]["parent_id"]]
    assert first["name"] == "POST /orders", "the outbox row carried the request's context"


def _each_step_is_a_child_of_the_saga(spans, by_id):
    steps = [s for s in spans if s["name"].startswith(("step ", "compensate "))]
    assert steps
    assert all(by_id[s["parent_id"]]["name"] == "saga drive" for s in steps)
    servers = {s["service"] for s in spans if s["kind"] == "SERVER" and
               by_id.get(s["parent_id"], {}).get("kind") == "CLIENT"}
    assert servers >= {"orchestrator", "inventory", "notifications"}  # linked over HTTP


def test_a_retried_dead_lettered_and_replayed_message_stays_in_its_orders_trace(traced, http):
    if traced.variant != "choreo":
        pytest.skip("retry queues and dead letters are the choreographed variant's")
    traced.runner("restart-with", "choreo", "payments-worker", "PAYMENTS_FAULT_FAILURE_RATE=1")
    order = http.post(f"{traced.url('orders')}/orders", json=OUTCOMES["completed"][0],
                      timeout=30).json()
    wait_for(lambda: _dead_letters_of(order["order_id"]), timeout=60,
             message="the payment to be dead-lettered after MAX_ATTEMPTS")
    traced.runner("restart-with", "choreo", "payments-worker", "PAYMENTS_FAULT_FAILURE_RATE=")
    assert replay_dead_letters(TRACING_AMQP_URL) >= 1
    assert wait_final(http, traced.url("orders"), order["order_id"])["status"] == "COMPLETED"
    found = settled_trace(traced, order["order_id"], INVOLVED["completed"])
    assert len(found) == 1, f"{len(found)} traces for one order"
    spans = next(iter(found.values()))
    payments = [s for s in spans if s["name"] == "payments.events process"]
    failed = [s for s in payments if s["status"] == "ERROR"]
    # MAX_ATTEMPTS=3: two trips through the retry queue, one dead-lettering, then the replay.
    assert len(failed) == 3 and len(payments) == 4, [(s["status"], s["error"]) for s in payments]
    assert "dead-lettered" in failed[-1]["error"] or any("dead-lettered" in s["error"]
                                                         for s in failed)
    assert len({s["parent_id"] for s in payments}) == 1, "every attempt: a child of one publish"


def test_a_saga_resumed_by_the_recovery_loop_continues_its_orders_trace(traced, http):
    if traced.variant != "orch":
        pytest.skip("the recovery loop is the orchestrated variant's")
    traced.runner("restart-with", "orch", "payments-api", "PAYMENTS_FAULT_FAILURE_RATE=1")
    wait_for(lambda: _healthy(http, traced.url("payments")), message="payments back up")
    answer = http.post(f"{traced.url('orders')}/orders", json=OUTCOMES["completed"][0],
                       timeout=30)
    order = answer.json()
    assert order["status"] == "PENDING", "the saga is left for the recovery loop"
    traced.runner("restart-with", "orch", "payments-api", "PAYMENTS_FAULT_FAILURE_RATE=")
    assert wait_final(http, traced.url("orders"), order["order_id"])["status"] == "COMPLETED"
    found = settled_trace(traced, order["order_id"], involved("orch", "completed"))
    assert len(found) == 1, f"{len(found)} traces for one order"
    drives = [s for s in next(iter(found.values())) if s["name"] == "saga drive"]
    assert len(drives) >= 2 and any(d["attributes"]["saga.resumed"] for d in drives)
    assert len({d["parent_id"] for d in drives}) == 1, "every drive: a child of POST /sagas"


def _dead_letters_of(order_id):
    return [letter for letter in list_dead_letters(TRACING_AMQP_URL)
            if order_id in letter["body"]]


def _healthy(http, url):
    try:
        return http.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False
