"""A slow handover never leaves a saga for a withdrawn order (the orders service, orchestrated).

The request that stored the order is slow to hand it over (a stall point), so the handover
loop takes it over and stores the saga; then the request's own call is shed with a 429. The
request may withdraw the order only while it still owns the handover (a compare-and-set on the
outbox row): here the loop owns it, so the order stays, and its saga runs."""
import dataclasses
import time

import pytest
import requests

from audit.__main__ import audit_when_quiet, report
from audit.fetch import all_items, snapshot
from audit.ledger import read, tally
from tests.integration.conftest_orch import OrchStack
from tests.support import endings, new_ledger, post_recorded

# The request stalls before its call long enough for the loop (ORDERS_HANDOVER_AFTER_MS) to
# take the order over; the loop then stalls after its call, before it marks the row sent.
SLOW = {"FAULT_STALL_AT": "orders.before_handover:2500,orders.before_mark_sent:4000",
        "ORDERS_HANDOVER_AFTER_MS": "300"}
# One saga in flight at most, and the first saga stalls 12 s after its first step's answer
# (once: the orchestrator is one process): a first order keeps the replica full, so the next
# order's call is shed with a 429; that next saga then runs at full speed.
FULL = {"ORCH_MAX_IN_FLIGHT": "1"}
BLOCK = {"FAULT_STALL_AT": "saga.after_call:12000"}


@pytest.fixture
def stack(stop_later):
    """The orchestrated variant, its orchestrator armed to stall the first saga (BLOCK); the
    test restarts its orders API with the slow handover armed."""
    running = OrchStack("handover", 28700, env=FULL)
    orchestrator = running.programs["orchestrator-0"]
    running.programs["orchestrator-0"] = dataclasses.replace(
        orchestrator, environment={**orchestrator.environment, **BLOCK})
    try:
        running.start()
        yield running
    finally:  # in the background: no other test uses this stack's ports
        stop_later(running.stop)


def _urls(stack):
    return {s: stack.url(f"{s}-api") for s in ("orders", "inventory", "payments", "shipping",
                                               "notifications")}


def _slow_orders_api(stack):
    """Restart the orders API as ONE gunicorn worker (so its request and its loop share the
    process whose stall points are armed) with the slow handover armed."""
    stack.kill("orders-api")
    program = stack.programs["orders-api"]
    command = list(program.command)
    command[command.index("--workers") + 1] = "1"
    stack.programs["orders-api"] = dataclasses.replace(
        program, command=command, environment={**program.environment, **SLOW})
    stack.start_program("orders-api")
    stack.wait_healthy("orders-api")


@pytest.mark.timeout(240)
def test_a_slow_handover_never_leaves_a_saga_for_a_withdrawn_order(stack, tmp_path):
    ledger, scope = new_ledger(tmp_path, "handover")
    urls = _urls(stack)
    with requests.Session() as session:
        blocker = post_recorded(session, urls["orders"], ledger, scope, 0, "completed")
        assert blocker.status_code == 202  # its saga holds the one slot for 12 s
        _slow_orders_api(stack)
        started = time.monotonic()
        slow = post_recorded(session, urls["orders"], ledger, scope, 1, "completed")
    assert time.monotonic() - started < 11, "the replica was no longer full: nothing raced"
    time.sleep(5)  # both stalls are over: the loop has marked its handover
    with requests.Session() as session:
        sagas = all_items(session, stack.url("orchestrator-0"), "/sagas")
        orders = {o["order_id"] for o in all_items(session, urls["orders"], "/orders")}
    assert [s["order_id"] for s in sagas if s["order_id"] not in orders] == [], \
        f"a saga runs for a withdrawn order (the slow request answered {slow.status_code})"
    assert slow.status_code == 202  # the loop owned the handover: the order stays

    results, _ = audit_when_quiet("orch", urls, 90, ledger=ledger.path,
                                  orchestrator_url=stack.url("orchestrator-0"))
    assert report(results), [v for _, _, v in results if v]
    assert tally(read(ledger.path)[1], snapshot(urls)) == {
        "sent": 2, "accepted": 2, "asked": {"completed": 2}, "ended": endings({"completed": 2})}
