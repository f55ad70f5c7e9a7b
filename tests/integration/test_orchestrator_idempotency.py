"""Idempotency keys: a response lost after the commit is retried without a second effect."""
import sqlite3
import uuid

import pytest
import requests

from tests.integration.conftest_orch import (OrchStack, assert_order_invariants, order_body,
                                             wait_until)


@pytest.fixture(scope="module")
def stack(stop_later):
    """Payments answers slower than the orchestrator waits: its first answers get lost."""
    running = OrchStack("idempotency", 28100, env={
        "PAYMENTS_FAULT_LATENCY_MS": "900", "ORCH_CALL_TIMEOUT_MS": "450",
        "ORCH_CALL_ATTEMPTS": "6", "ORCH_BACKOFF_MS": "150"})
    try:
        running.start()
        yield running
    finally:  # in the background: no other test uses this stack's ports
        stop_later(running.stop)


def charge(stack, order_id, key, timeout, amount=1250):
    body = {"order_id": order_id, "customer_id": "cust-it", "amount_cents": amount,
            "currency": "EUR", "card_token": "tok_visa"}
    return requests.post(f"{stack.url('payments-api')}/payments", json=body, timeout=timeout,
                         headers={"Idempotency-Key": key, **stack.credential()})


def test_a_charge_whose_answer_was_lost_is_replayed_not_charged_again(stack):
    order_id, key = str(uuid.uuid4()), f"{uuid.uuid4()}:charge_payment:do"
    with pytest.raises(requests.Timeout):
        charge(stack, order_id, key, timeout=0.3)  # the answer is lost; the charge commits
    payments = wait_until(lambda: stack.get("payments-api", "/payments",
                                            order_id=order_id)["items"], 15,
                          what="the charge to commit")
    retry = charge(stack, order_id, key, timeout=10)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["payment_id"] == payments[0]["payment_id"]
    assert len(stack.get("payments-api", "/payments", order_id=order_id)["items"]) == 1


def test_the_same_key_with_another_request_is_refused_with_422(stack):
    order_id, key = str(uuid.uuid4()), f"{uuid.uuid4()}:charge_payment:do"
    assert charge(stack, order_id, key, timeout=10).status_code == 201
    again = charge(stack, order_id, key, timeout=10, amount=999)
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "idempotency_key_reused"


def test_a_saga_whose_charge_answers_time_out_completes_with_exactly_one_charge(stack):
    placed = stack.place(order_body(), timeout=30)
    assert placed.status_code in (201, 202)
    order_id = placed.json()["order_id"]
    wait_until(lambda: stack.all_final([order_id]), 60, what="the saga to finish")
    assert assert_order_invariants(stack, order_id)["status"] == "COMPLETED"
    keys = sqlite3.connect(stack.var_dir / "orch" / "payments.db").execute(
        "SELECT key FROM idempotency_keys WHERE key LIKE ?", (f"{order_id}:%",)).fetchall()
    assert keys == [(f"{order_id}:charge_payment:do",)]


def test_a_command_with_a_bad_body_is_a_json_400_not_a_500(stack):
    answer = requests.post(f"{stack.url('inventory-api')}/reservations", timeout=10,
                           json={"order_id": "x", "items": [{"sku": 1}]},
                           headers=stack.credential())
    assert answer.status_code == 400 and answer.json()["error"]["message"]
    answer = requests.post(f"{stack.url('inventory-api')}/reservations", timeout=10,
                           data="nope", headers={"Content-Type": "text/plain",
                                                 **stack.credential()})
    assert answer.status_code == 415
