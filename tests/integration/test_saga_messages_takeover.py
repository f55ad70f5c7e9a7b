"""A dead replica's sagas over RabbitMQ (ORCH_TRANSPORT=amqp): two replicas, one killed -9
while its sagas wait for replies. The survivor takes its shards over once their leases
expire, and its recovery loop sends each saga's current command again with the survivor's
own reply queue (orders-orch/orchestrator/messaging_driver.py); the services answer from
their stored answers, so every order ends once, as it asked.
"""
from concurrent.futures import ThreadPoolExecutor
import time

import pytest

from tests.integration.conftest import AMQP_URL
from tests.integration.conftest_orch import (OrchStack, assert_order_invariants,
                                             assert_stock_conserved, outcome_of, wait_until)
from tests.integration.test_orchestrator_crash_windows import BODIES

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def stack(broker):
    running = OrchStack("amqp-takeover", 28800, replicas=2, env={
        "ORCH_TRANSPORT": "amqp", "AMQP_URL": AMQP_URL, "CONSUMER_THREADS": "2",
        "ORCH_REPLY_TIMEOUT_MS": "1000",
        "PAYMENTS_FAULT_LATENCY_MS": "400"})  # sagas still wait for replies at the kill
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_a_dead_replicas_sagas_are_finished_by_the_survivor_resending_their_commands(stack):
    asked = [outcome for _ in range(3) for outcome in BODIES]  # twelve: some on each replica
    with ThreadPoolExecutor(max_workers=len(asked)) as pool:
        placing = [pool.submit(stack.place, BODIES[outcome], None, 30) for outcome in asked]
        time.sleep(1.0)  # the sagas are under way, some on each replica
        stack.kill("orchestrator-0")
        answers = [future.result() for future in placing]
    assert {a.status_code for a in answers} <= {201, 202}, [a.text for a in answers]
    orders = {a.json()["order_id"]: outcome for a, outcome in zip(answers, asked)}
    wait_until(lambda: stack.all_final(orders), 45, what="every saga to finish")
    for order_id, outcome in orders.items():
        assert outcome_of(assert_order_invariants(stack, order_id)) == outcome, order_id
    assert_stock_conserved(stack)
    owners = {row["owner"].split("@")[0] for row in
              stack.get("orchestrator-1", "/shards")["items"]}
    assert owners == {"orchestrator-1"}, owners
    resent = [o for o in orders if any(line["outcome"].startswith("sent again")
                                       for line in stack.saga(o, replica=1)["log"])]
    assert resent, "the survivor finished the dead replica's sagas by sending again"
