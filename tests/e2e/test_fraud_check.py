"""The fraud check of docs/change-cost.md, end to end in both styles: an order of a blocked
customer is cancelled with the reason fraud_suspected before anything is reserved or charged,
and a cleared order still completes.

The fraud check is not part of the project: the exercise `fraud-check` (docs/exercises.md)
adds it by applying that page's diffs. Until then these tests are skipped, unless
FRAUD_EXERCISE=1 (the exercise's check sets it) makes them run and fail."""
import os

import pytest

from shared.runtime import config
from tests.support import OUTCOMES, get_json, order, wait_final, wait_for

# Trade-off 103: the test of a feature the project does not have lives in the project, skipped
# until the feature is there: the exercise's end-to-end check is run by make test-exercises on
# every change and cannot rot apart from the code. The price: a test that make test always
# skips, and an environment variable that turns the skip into a failure.
pytestmark = pytest.mark.skipif(
    "fraud" not in config.SERVICES and not os.environ.get("FRAUD_EXERCISE"),
    reason="the fraud check is an exercise (make exercise NAME=fraud-check)")


def _stock(http, urls, sku="MUG-RED"):
    row = {r["sku"]: r for r in get_json(http, f"{urls['inventory']}/stock")["items"]}[sku]
    return row["available"], row["reserved"], row["committed"]


def _for_order(http, urls, service, path, order_id):
    return get_json(http, f"{urls[service]}/{path}?order_id={order_id}")["items"]


def test_an_order_of_a_blocked_customer_is_cancelled_before_anything_is_reserved(
        system, http, urls):
    body = order("MUG-RED", 1, customer="cust-fraud")
    stock_before = _stock(http, urls)
    response = http.post(f"{urls['orders']}/orders", json=body, timeout=30)
    assert response.status_code in (201, 202), response.text
    final = wait_final(http, urls["orders"], response.json()["order_id"])
    assert (final["status"], final["reason"]) == ("CANCELLED", "fraud_suspected")
    order_id = final["order_id"]
    assert _for_order(http, urls, "payments", "payments", order_id) == []
    assert _stock(http, urls) == stock_before
    notes = wait_for(lambda: _for_order(http, urls, "notifications", "notifications", order_id),
                     message="the cancellation notice")
    assert [(n["outcome"], n["reason"]) for n in notes] == [("cancelled", "fraud_suspected")]


def test_an_order_of_any_other_customer_still_completes(system, http, urls):
    body, status, reason = OUTCOMES["completed"]
    response = http.post(f"{urls['orders']}/orders", json=body, timeout=30)
    assert response.status_code in (201, 202), response.text
    final = wait_final(http, urls["orders"], response.json()["order_id"])
    assert (final["status"], final["reason"]) == (status, reason)
