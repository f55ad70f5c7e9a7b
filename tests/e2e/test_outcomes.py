"""Each outcome of docs/domain.md ends in the right status, with the right compensations."""
import pytest

from tests.support import OUTCOMES, get_json, wait_final, wait_for


def _stock(http, urls):
    return {row["sku"]: row for row in get_json(http, f"{urls['inventory']}/stock")["items"]}


def _for_order(http, urls, service, path, order_id):
    return get_json(http, f"{urls[service]}/{path}?order_id={order_id}")["items"]


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_an_order_ends_in_the_status_and_reason_of_its_outcome(system, http, urls, outcome):
    body, status, reason = OUTCOMES[outcome]
    sku, quantity = body["items"][0]["sku"], body["items"][0]["quantity"]
    before = _stock(http, urls)[sku]

    response = http.post(f"{urls['orders']}/orders", json=body, timeout=30)
    assert response.status_code in (201, 202), response.text
    placed = response.json()
    assert response.headers["Location"] == f"/orders/{placed['order_id']}"
    assert placed["total_cents"] == sum(i["quantity"] * i["unit_price_cents"]
                                        for i in placed["items"])

    final = wait_final(http, urls["orders"], placed["order_id"])
    assert (final["status"], final["reason"]) == (status, reason)

    order_id = final["order_id"]
    after = _stock(http, urls)[sku]
    payments = _for_order(http, urls, "payments", "payments", order_id)
    shipments = _for_order(http, urls, "shipping", "shipments", order_id)
    assert after["reserved"] == before["reserved"] == 0
    if outcome == "completed":
        assert after["committed"] - before["committed"] == quantity
        assert [(p["status"], p["amount_cents"]) for p in payments] == [
            ("captured", final["total_cents"])]
        assert [s["status"] for s in shipments] == ["booked"]
    else:
        assert after["available"] == before["available"], "stock must be released"
        assert not [s for s in shipments if s["status"] == "booked"]
    if outcome == "out_of_stock":
        assert payments == []
    if outcome == "payment_declined":
        assert [p["status"] for p in payments] == ["declined"]
    if outcome == "shipping_unavailable":
        assert [p["status"] for p in payments] == ["refunded"], "the charge must be refunded"

    notes = wait_for(lambda: _for_order(http, urls, "notifications", "notifications", order_id),
                     message="the outcome notification")
    assert [n["outcome"] for n in notes] == [status.lower()]


def test_the_timeline_lists_every_step_of_the_saga_with_service_time_and_correlation_id(
        system, http, urls):
    body, _, _ = OUTCOMES["shipping_unavailable"]
    response = http.post(f"{urls['orders']}/orders", json=body, timeout=30,
                         headers={"X-Correlation-Id": "trace-me-123"})
    order_id = response.json()["order_id"]
    wait_final(http, urls["orders"], order_id)

    # Read at once: a final order's timeline is already complete (no waiting for a tracker).
    timeline = get_json(http, f"{urls['orders']}/orders/{order_id}/timeline")["steps"]
    assert any("refund" in s["step"] for s in timeline), timeline
    assert {s["correlation_id"] for s in timeline} == {"trace-me-123"}
    assert all(s["at"] and s["service"] and s["step"] and s["outcome"] for s in timeline)
    services = [s["service"] for s in timeline]
    assert services.index("payments") < services.index("shipping")
    assert [s["at"] for s in timeline] == sorted(s["at"] for s in timeline)


def test_a_timeline_of_an_unknown_order_is_404(system, http, urls):
    response = http.get(f"{urls['orders']}/orders/no-such-order/timeline", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
