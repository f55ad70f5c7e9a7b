"""Three windows of the orchestrated handover, each held open on purpose with a fault point
(shared/runtime/faults.py) in real gunicorn processes on real databases:

- a replay of POST /orders (the same Idempotency-Key) lands after the first request was shed
  (429) and before it withdrew the order: the replay said "accepted", so the order must stay
  (orders-orch/orders/handover.py, keep(): Trade-off 58);
- a POST /sagas for a saga already stored reaches a full replica: it is answered with the
  saga, not shed, since a 429 lets the orders service withdraw an order whose saga exists;
- the orders API dies after POST /sagas answered 2xx and before it marked the handover sent:
  the restarted process hands the order over again, and its saga does not run twice.
"""
import dataclasses
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.integration.conftest_orch import (OrchStack, assert_order_invariants,
                                             assert_stock_conserved, order_body, wait_until)
from tests.support import tree_on_path

tree_on_path("orch")
from commands import http_session  # noqa: E402  (orders-orch/commands/)

# One saga in flight at most; the first saga stalls after its first step's answer, holding
# the one slot, so that the next new saga is shed.
FULL = {"ORCH_MAX_IN_FLIGHT": "1"}
BLOCK = {"FAULT_STALL_AT": "saga.after_call:10000"}


def _set_env(stack, name, **env):
    """Change a program's environment for its next start."""
    program = stack.programs[name]
    stack.programs[name] = dataclasses.replace(program,
                                               environment={**program.environment, **env})


def _restart(stack, name, **env):
    stack.kill(name)
    _set_env(stack, name, **env)
    stack.start_program(name)
    stack.wait_healthy(name)


def _log(stack, name):
    return (stack.var_dir / "logs" / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def stacks(stop_later):
    """Start stacks for a test: stacks(name, base_port, {program: env}); stop them after it, in
    the background (each test's stacks have ports of their own)."""
    made = []

    def start(name, base_port, armed=None):
        made.append(OrchStack(name, base_port, env=FULL))
        for program, env in (armed or {}).items():
            _set_env(made[-1], program, **env)
        made[-1].start()
        return made[-1]
    try:
        yield start
    finally:
        for stack in made:
            stop_later(stack.stop)


def _ran_once(stack, order_id):
    """The order ended in its invariants, and each step of its saga succeeded once."""
    assert_order_invariants(stack, order_id)
    done = [line["step"] for line in stack.saga(order_id)["log"]
            if line["outcome"] == "succeeded"]
    assert done and len(done) == len(set(done)), done


def _driven(stack, order_id):
    """True once the saga's first step was started: a thread of the replica drives it."""
    try:
        log = stack.saga(order_id)["log"]
    except requests.HTTPError:  # not stored yet
        return False
    return any(line["service"] != "orchestrator" for line in log)


# --- 1. a replay between the first request's 429 and its withdrawal ---------------------------

def _shed_order(stack):
    """The id of the order whose request was shed (429) and is about to withdraw it."""
    found = re.search(r"order (\S+): shed by the orchestrator", _log(stack, "orders-api"))
    return found and found.group(1)


@pytest.mark.timeout(120)
def test_a_replay_answered_202_keeps_its_order_though_the_first_request_was_shed(stacks):
    stack = stacks("replay", 28900, {
        "orchestrator-0": BLOCK, "orders-api": {"FAULT_STALL_AT": "orders.before_withdraw:5000"}})
    blocker = stack.place(order_body(), key="blocker")
    assert blocker.status_code == 202  # its saga holds the one slot for 10 s
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(stack.place, order_body(), "twice", 30)
        order_id = wait_until(lambda: _shed_order(stack), 15, every=0.05,
                              what="the first request to be shed and to stall before withdrawing")
        replay = stack.place(order_body(), key="twice")  # in the window
        first = first.result()
    assert (replay.status_code, replay.json()["order_id"]) == (202, order_id), replay.text
    assert (first.status_code, first.json().get("order_id")) == (202, order_id), \
        f"the replay answered 202 for {order_id}, then the first request said {first.text}"
    assert f"order {order_id}: kept" in _log(stack, "orders-api")

    both = [blocker.json()["order_id"], order_id]
    wait_until(lambda: stack.all_final(both), 60, what="both sagas to finish")
    assert stack.order(order_id)["status"] == "COMPLETED"
    for each in both:
        _ran_once(stack, each)
    assert_stock_conserved(stack)


# --- 2. POST /sagas for a saga already stored, at a full replica -------------------------------

def _start_saga_again(stack, order_id, body):
    """POST /sagas for an order, as a retried or forwarded call would (internal route)."""
    order = stack.order(order_id)
    facts = {**{k: order[k] for k in ("order_id", "customer_id", "items", "total_cents",
                                       "currency")},
             "card_token": body["payment"]["card_token"],
             "shipping_address": body["shipping_address"]}
    return http_session.this_thread().post(f"{stack.url('orchestrator-0')}/sagas",
                                           json={"order": facts}, timeout=10)


@pytest.mark.timeout(120)
def test_a_full_replica_answers_a_stored_saga_with_its_status_and_sheds_only_new_ones(stacks):
    stack = stacks("known", 28920)
    done = stack.place(order_body(), key="done")
    assert done.status_code == 201, done.text
    _restart(stack, "orchestrator-0", **BLOCK)  # armed now: the next saga holds the slot
    blocker = stack.place(order_body(), key="blocker", timeout=30)
    assert blocker.status_code == 202
    wait_until(lambda: _driven(stack, blocker.json()["order_id"]), 20, every=0.1,
               what="the blocker's saga to hold the one slot")

    shed = stack.place(order_body(), key="new")  # a new saga: shed, and its order withdrawn
    assert shed.status_code == 429, shed.text
    again = _start_saga_again(stack, done.json()["order_id"], order_body())
    assert again.status_code == 201, again.text  # stored and final: not shed
    assert again.json()["state"] == "COMPLETED"

    both = [done.json()["order_id"], blocker.json()["order_id"]]
    wait_until(lambda: stack.all_final(both), 60, what="the blocker's saga to finish")
    assert {o["order_id"] for o in stack.get("orders-api", "/orders")["items"]} == set(both)
    for each in both:
        _ran_once(stack, each)
    assert_stock_conserved(stack)


# --- 3. the orders API dies between a 2xx from POST /sagas and marking the handover sent -------

def _sent_at(stack, order_id):
    """When the order's handover row was marked sent (None: not yet), from the orders database."""
    database = stack.var_dir / "orch" / "orders.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT sent_at FROM outbox WHERE message_id = ?",
                                  (order_id,)).fetchone()[0]


@pytest.mark.timeout(120)
def test_an_order_handed_over_by_a_process_that_died_before_marking_it_ends_once(stacks):
    # The loop leaves the row alone while the process is armed (the gunicorn master restarts
    # the dead worker, armed too); the restarted orders API takes it after a second.
    stack = stacks("handed", 28940, {"orders-api": {
        "FAULT_CRASH_AT": "orders.after_handover", "ORDERS_HANDOVER_AFTER_MS": "60000"}})
    with pytest.raises(requests.ConnectionError):  # the worker died before it could answer
        stack.place(order_body(), key="handed")
    assert _log(stack, "orders-api").count("fault point orders.after_handover: crashing") == 1
    (order,) = stack.get("orders-api", "/orders")["items"]
    order_id = order["order_id"]
    assert stack.saga(order_id)["state"] == "COMPLETED"  # handed over, and driven to its end
    assert _sent_at(stack, order_id) is None  # ... but not marked sent: the window

    _restart(stack, "orders-api", FAULT_CRASH_AT="", ORDERS_HANDOVER_AFTER_MS="1000")
    wait_until(lambda: _sent_at(stack, order_id), 20, every=0.2,
               what="the restarted orders API to hand the order over again")
    replay = stack.place(order_body(), key="handed")
    assert (replay.status_code, replay.json()["order_id"]) == (201, order_id), replay.text
    assert replay.json()["status"] == "COMPLETED"
    _ran_once(stack, order_id)  # charged once, shipped once, notified once, each step once
    assert_stock_conserved(stack)
