"""Sharding: two replicas share the shards; when one dies, the other takes its shards over and
finishes its sagas, and no step of them did its work twice in its service (a step in flight at
the kill is sent again by the survivor, and its Idempotency-Key makes that call a replay)."""
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest_orch import (OrchStack, assert_each_step_worked_once,
                                             assert_order_invariants, assert_stock_conserved,
                                             order_body, wait_until)


@pytest.fixture(scope="module")
def stack(stop_later):
    """Two orchestrator replicas; shipping is slow so sagas are in flight at the kill."""
    running = OrchStack("replicas", 28300, replicas=2,
                        env={"SHIPPING_FAULT_LATENCY_MS": "700"})
    try:
        running.start()
        yield running
    finally:  # in the background: no other test uses this stack's ports
        stop_later(running.stop)


def owners(stack, replica=0):
    return [s["owner_url"] for s in stack.get(f"orchestrator-{replica}", "/shards")["items"]]


def test_the_two_replicas_share_the_shards_half_and_half(stack):
    urls = (stack.url("orchestrator-0"), stack.url("orchestrator-1"))
    wait_until(lambda: Counter(owners(stack)) == {urls[0]: 4, urls[1]: 4}, 30,
               what="the shards to be balanced")


def test_when_a_replica_is_killed_its_shards_are_taken_over_and_its_sagas_finish_once(stack):
    dead = stack.url("orchestrator-1")
    shards_of_dead = {s["shard"] for s in stack.get("orchestrator-0", "/shards")["items"]
                      if s["owner_url"] == dead}
    with ThreadPoolExecutor(max_workers=16) as pool:
        pending = [pool.submit(stack.place, order_body(), None, 30) for _ in range(16)]
        wait_until(lambda: stack.get("orchestrator-1", "/sagas", state="running")["items"], 20,
                   every=0.1, what="sagas in flight")
        stack.kill("orchestrator-1")
        answers = [f.result() for f in pending]
    assert {a.status_code for a in answers} <= {201, 202}

    survivor = stack.url("orchestrator-0")
    wait_until(lambda: set(owners(stack)) == {survivor}, 30, what="the takeover")
    order_ids = [a.json()["order_id"] for a in answers]
    wait_until(lambda: stack.all_final(order_ids), 90, what="every saga to finish")
    taken_over = [o for o in order_ids if stack.saga(o)["shard"] in shards_of_dead]
    assert taken_over, "some sagas belonged to the dead replica's shards"
    for order_id in order_ids:
        assert assert_order_invariants(stack, order_id)["status"] == "COMPLETED"
    assert_each_step_worked_once(stack, order_ids)
    assert_stock_conserved(stack)
