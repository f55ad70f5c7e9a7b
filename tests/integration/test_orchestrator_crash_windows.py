"""The orchestrator's two crash windows around a step's call, each hit on purpose once.

A step is recorded "started" before its call and its answer after it (Trade-off 13 in
orders-orch/orchestrator/store.py), so the orchestrator can die at two places in between:
- `saga.before_call`: the step is in the log as started, its service never heard of it; the
  recovery must make the call (not skip the step, not take it for done);
- `saga.after_call`: the service did the work and answered, and nobody recorded it; the
  recovery calls again with the same Idempotency-Key and must get the stored answer, not a
  second effect.
Each test arms one point (shared/runtime/faults.py) in the only replica, places orders of every
outcome, waits for the crash, restarts the replica unarmed, and checks that every order ended
once with the outcome it asked for, and that every step did its work once in its service.
"""
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.domain import catalog
from tests.integration.conftest_orch import (CANCELLED_PAYMENTS, OrchStack,
                                             assert_each_step_worked_once,
                                             assert_order_invariants,
                                             assert_stock_conserved, order_body, outcome_of,
                                             wait_until)

ADDRESS = order_body()["shipping_address"]
BODIES = {  # one order body per outcome (shared/domain/catalog.py makes each failure on purpose)
    "completed": order_body(),
    "out_of_stock": order_body(items=[{"sku": catalog.SCARCE_SKU, "quantity": 100}]),
    "payment_declined": order_body(payment={"card_token": catalog.DECLINED_CARD_TOKEN}),
    "shipping_unavailable": order_body(shipping_address={**ADDRESS, "country": "AQ"}),
}
assert set(BODIES) == {"completed", *CANCELLED_PAYMENTS}
ROUNDS = 3  # orders of each outcome: twelve sagas, several in flight at the crash
CRASH_AT_CALL = 30  # the 30th step call of the armed process: most sagas are mid-way


@pytest.fixture(scope="module")
def stack(stop_later):
    """One replica; each test restarts it armed, then unarmed."""
    running = OrchStack("windows", 28600)
    try:
        running.start()
        yield running
    finally:  # in the background: no other test uses this stack's ports
        stop_later(running.stop)


def crashes(stack, point):
    log = stack.var_dir / "logs" / "orchestrator-0.log"
    return log.read_text(errors="replace").count(f"fault point {point}: crashing on purpose")


def restart_orchestrator(stack, fault):
    stack.kill("orchestrator-0")
    stack.set_environment("orchestrator-0", FAULT_CRASH_AT=fault)
    stack.start_program("orchestrator-0")
    stack.wait_healthy("orchestrator-0")


def orders_through_a_crash(stack, point):
    """Arm `point`, place orders of every outcome, restart after the one crash; return
    {order_id: outcome asked}."""
    before = crashes(stack, point)
    restart_orchestrator(stack, f"{point}:{CRASH_AT_CALL}")
    asked = [outcome for _ in range(ROUNDS) for outcome in BODIES]
    with ThreadPoolExecutor(max_workers=len(asked)) as pool:
        answers = list(pool.map(lambda outcome: stack.place(BODIES[outcome], timeout=30), asked))
        # The dead worker's gunicorn master starts another at once, armed too: it is killed
        # below long before it could drive a saga (its shards are still leased to the dead
        # one for a lease's time to live).
        wait_until(lambda: crashes(stack, point) > before, 30, every=0.1,
                   what=f"the crash at {point}")
    restart_orchestrator(stack, None)
    assert crashes(stack, point) == before + 1, "the orchestrator crashed once"
    assert {a.status_code for a in answers} <= {201, 202}, [a.text for a in answers]
    return {a.json()["order_id"]: outcome for a, outcome in zip(answers, asked)}


def assert_every_order_ended_once_as_asked(stack, asked):
    wait_until(lambda: stack.all_final(asked), 45, what="every saga to finish")
    for order_id, outcome in asked.items():
        assert outcome_of(assert_order_invariants(stack, order_id)) == outcome, order_id
    assert_each_step_worked_once(stack, list(asked))
    assert_stock_conserved(stack)
    assert stack.get("orchestrator-0", "/sagas", state="running")["items"] == []


def test_a_crash_between_a_steps_started_record_and_its_call_loses_no_step(stack):
    assert_every_order_ended_once_as_asked(stack, orders_through_a_crash(stack, "saga.before_call"))


def test_a_crash_between_a_services_answer_and_its_record_repeats_no_work(stack):
    assert_every_order_ended_once_as_asked(stack, orders_through_a_crash(stack, "saga.after_call"))
