"""What a database cannot hold is a 400 from the body's rules, never a 500 from the database:
meaningful with `make test-e2e DB=postgres` (SQLite stores an over-large integer, and infinity
in a JSON column, without a word; PostgreSQL refuses both)."""
import uuid

import pytest

from chaos import structural
from tests.support import tree_on_path

tree_on_path("orch")
from commands import http_session  # noqa: E402  (orders-orch/commands/)

INTEGER_MAX = 2**31 - 1  # the largest PostgreSQL's INTEGER (payments.amount_cents) holds


def charge(urls, order_id, amount_cents):
    """Call the orchestrated payments command as the orchestrator does; return the response."""
    body = {"order_id": order_id, "customer_id": "cust-limits", "amount_cents": amount_cents,
            "currency": "EUR", "card_token": "tok_visa"}
    return http_session.this_thread().post(
        f"{urls['payments']}/payments", json=body, timeout=10,
        headers={"Idempotency-Key": f"{order_id}:charge_payment:forward"})


def test_an_amount_no_column_can_hold_is_a_400_naming_the_field(system, http, urls):
    if system.variant != "orch":
        pytest.skip("only the orchestrated payments service takes commands over HTTP")
    too_large = charge(urls, str(uuid.uuid4()), INTEGER_MAX + 1)
    assert too_large.status_code == 400, too_large.text
    assert "amount_cents" in too_large.json()["error"]["fields"]

    order_id = str(uuid.uuid4())  # the limit itself is stored: a payment declined on credit
    largest = charge(urls, order_id, INTEGER_MAX)
    assert largest.json()["error"]["code"] == "payment_declined", largest.text
    stored = http.get(f"{urls['payments']}/payments", params={"order_id": order_id}, timeout=10)
    assert [p["amount_cents"] for p in stored.json()["items"]] == [INTEGER_MAX]


@pytest.mark.parametrize("number", ["1e999", "-1e999"])
def test_a_number_too_large_for_a_float_in_an_order_is_a_400(system, http, urls, number):
    response = http.post(f"{urls['orders']}/orders", timeout=10,
                         data=structural.body_bytes(structural.with_extra(number)),
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
