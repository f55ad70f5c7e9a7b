"""Self-healing: kill -9 the orchestrator in the middle of sagas, restart it, every saga ends,
and each of its steps did its work once in its service (a step in flight at the kill is sent
again on recovery, and its Idempotency-Key makes the second call a replay)."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest_orch import (OrchStack, assert_each_step_worked_once,
                                             assert_order_invariants, assert_stock_conserved,
                                             order_body, wait_until)

BODIES = [order_body(), order_body(payment={"card_token": "tok_declined"}),
          order_body(shipping_address={**order_body()["shipping_address"], "country": "AQ"})]


@pytest.fixture(scope="module")
def stack(stop_later):
    """Shipping is slow, so that sagas are in flight when the orchestrator dies."""
    running = OrchStack("crash", 28200, env={"SHIPPING_FAULT_LATENCY_MS": "800"})
    try:
        running.start()
        yield running
    finally:  # in the background: no other test uses this stack's ports
        stop_later(running.stop)


def test_sagas_cut_off_by_a_kill_9_all_finish_once_the_orchestrator_is_back(stack):
    with ThreadPoolExecutor(max_workers=12) as pool:
        pending = [pool.submit(stack.place, BODIES[n % 3], None, 30) for n in range(12)]
        wait_until(lambda: stack.get("orchestrator-0", "/sagas", state="running")["items"], 20,
                   every=0.1, what="sagas in flight")
        stack.kill("orchestrator-0")
        answers = [f.result() for f in pending]
    assert {a.status_code for a in answers} <= {201, 202}
    while_down = [stack.place(BODIES[n % 3]) for n in range(3)]  # nobody to hand them to
    assert [a.status_code for a in while_down] == [202, 202, 202]

    stack.start_program("orchestrator-0")
    order_ids = [a.json()["order_id"] for a in answers + while_down]
    wait_until(lambda: stack.all_final(order_ids), 90, what="every saga to finish")
    for order_id in order_ids:
        assert_order_invariants(stack, order_id)
    assert_each_step_worked_once(stack, order_ids)
    assert_stock_conserved(stack)
    assert stack.get("orchestrator-0", "/sagas", state="running")["items"] == []
