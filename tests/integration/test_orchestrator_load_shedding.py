"""Regulation of load: above its in-flight bound the orchestrator sheds with 429 + Retry-After,
the public API passes that on, and a shed order is not kept: no order row, and nothing done for
it anywhere (no saga, no reservation, no charge, no shipment, no notification)."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.integration.conftest_orch import (OrchStack, assert_order_invariants,
                                             assert_stock_conserved, order_body, wait_until,
                                             work_done_when_quiet)


@pytest.fixture(scope="module")
def stack(stop_later):
    """A replica that drives at most two sagas at once, behind a slow shipping service."""
    running = OrchStack("shedding", 28400, env={"ORCH_MAX_IN_FLIGHT": "2",
                                                "SHIPPING_FAULT_LATENCY_MS": "1500",
                                                "ORCH_CALL_TIMEOUT_MS": "2500"})
    try:
        running.start()
        yield running
    finally:  # in the background: no other test uses this stack's ports
        stop_later(running.stop)


def test_orders_over_the_in_flight_bound_get_429_with_retry_after_and_leave_no_order(stack):
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: place(stack), range(8)))
    shed = [a for a in answers if a.status_code == 429]
    accepted = [a for a in answers if a.status_code in (201, 202)]
    assert shed and accepted and len(shed) + len(accepted) == len(answers)
    for answer in shed:
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.json()["error"]["code"] == "overloaded"
    order_ids = [a.json()["order_id"] for a in accepted]
    wait_until(lambda: stack.all_final(order_ids), 60, what="the accepted orders to finish")
    for order_id in order_ids:
        assert_order_invariants(stack, order_id)
    listed = {o["order_id"] for o in stack.get("orders-api", "/orders")["items"]}
    assert listed == set(order_ids), "a shed order must not be kept"
    assert_nothing_done_for(stack, {a.request.headers["X-Correlation-Id"] for a in shed},
                            set(order_ids))
    assert_stock_conserved(stack)


def place(stack):
    """POST /orders under a correlation id of its own: a shed order's only name (a 429 has no
    order id), which its saga and every call of it would carry."""
    return requests.post(f"{stack.url('orders-api')}/orders", json=order_body(), timeout=30,
                         headers={"X-Correlation-Id": f"shed-test-{uuid.uuid4()}"})


def assert_nothing_done_for(stack, shed, kept):
    """Check that the shed orders left no saga and no call, and the services hold only the
    kept orders' rows."""
    sagas = stack.rows("orchestrator", "SELECT order_id, correlation_id FROM sagas")
    assert {order for order, _ in sagas} == kept
    assert not shed & {correlation for _, correlation in sagas}
    assert not [call for call in work_done_when_quiet(stack) if call[2] in shed]
    for service, table in (("inventory", "reservations"), ("payments", "payments"),
                           ("shipping", "shipments"), ("notifications", "notifications")):
        held = {order for (order,) in stack.rows(service, f"SELECT order_id FROM {table}")}
        assert held <= kept, f"{service} holds {table} of orders that were shed: {held - kept}"
