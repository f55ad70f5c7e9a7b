"""The crash windows of the saga over RabbitMQ (ORCH_TRANSPORT=amqp), each hit on purpose once
in a real process (shared/runtime/faults.py), with orders of every outcome in flight:
- `saga.before_call` in the orchestrator: a step and its command are committed to the
  orchestrator's database, and the replica dies before its relay publishes the command; the
  restarted replica's relay (or its recovery's resend) must send it, not skip the step;
- `consumer.before_ack` in payments: a command's effect and reply are committed, and the
  service dies before it acks; the broker delivers the command again, and the service must
  answer it from its stored answer, not charge twice.
Then every order ended once as it asked, with one payment row per order at most.
"""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import AMQP_URL
from tests.integration.conftest_orch import (OrchStack, assert_order_invariants,
                                             assert_stock_conserved, outcome_of, wait_until)
from tests.integration.test_orchestrator_crash_windows import BODIES

pytestmark = pytest.mark.broker
ROUNDS = 2  # orders of each outcome: eight sagas in flight at the crash


@pytest.fixture(scope="module")
def stack(broker):
    running = OrchStack("amqp-windows", 28700, env={
        "ORCH_TRANSPORT": "amqp", "AMQP_URL": AMQP_URL, "CONSUMER_THREADS": "2",
        "ORCH_REPLY_TIMEOUT_MS": "2000"})
    try:
        running.start()
        yield running
    finally:
        running.stop()


def crashes(stack, program, point):
    log = stack.var_dir / "logs" / f"{program}.log"
    return log.read_text(errors="replace").count(f"fault point {point}: crashing on purpose")


def restart(stack, program, fault):
    stack.kill(program)
    stack.set_environment(program, FAULT_CRASH_AT=fault)
    stack.start_program(program)
    stack.wait_healthy(program)


def orders_through_a_crash(stack, program, point):
    """Arm `point` in `program`, place orders of every outcome, restart it unarmed after the
    crash; return {order_id: outcome asked}."""
    before = crashes(stack, program, point)
    restart(stack, program, f"{point}:3")  # the third time: some sagas are mid-way
    asked = [outcome for _ in range(ROUNDS) for outcome in BODIES]
    with ThreadPoolExecutor(max_workers=len(asked)) as pool:
        answers = list(pool.map(lambda outcome: stack.place(BODIES[outcome], timeout=30), asked))
        wait_until(lambda: crashes(stack, program, point) > before, 30, every=0.1,
                   what=f"the crash at {point}")
    restart(stack, program, None)  # gunicorn's new worker is armed too: replace it at once
    assert {a.status_code for a in answers} <= {201, 202}, [a.text for a in answers]
    return {a.json()["order_id"]: outcome for a, outcome in zip(answers, asked)}


def assert_every_order_ended_once_as_asked(stack, asked):
    wait_until(lambda: stack.all_final(asked), 45, what="every saga to finish")
    for order_id, outcome in asked.items():
        assert outcome_of(assert_order_invariants(stack, order_id)) == outcome, order_id
    assert_stock_conserved(stack)
    charged = stack.rows("payments", "SELECT order_id, COUNT(*) FROM payments GROUP BY order_id")
    assert all(count == 1 for _, count in charged), charged
    assert stack.get("orchestrator-0", "/sagas", state="running")["items"] == []


def test_a_command_committed_but_not_published_before_a_crash_is_sent_after_the_restart(stack):
    asked = orders_through_a_crash(stack, "orchestrator-0", "saga.before_call")
    assert_every_order_ended_once_as_asked(stack, asked)


def test_a_command_applied_but_not_acked_before_a_crash_is_answered_again_not_applied_again(
        stack):
    asked = orders_through_a_crash(stack, "payments-api", "consumer.before_ack")
    assert_every_order_ended_once_as_asked(stack, asked)
    replayed = [line for line in (stack.var_dir / "logs" / "payments-api.log").read_text(
        errors="replace").splitlines() if "the stored answer goes out again" in line]
    assert replayed, "the redelivered command was answered from its stored answer"
