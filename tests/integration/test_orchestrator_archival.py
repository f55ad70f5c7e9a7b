"""Archival: finished sagas move with their whole step log to the archive; none is lost."""
import subprocess
import sys

import pytest

from tests.integration.conftest_orch import ROOT, OrchStack, order_body, wait_until

BODIES = [order_body(), order_body(items=[{"sku": "LAMP-LIMITED", "quantity": 100}]),
          order_body(payment={"card_token": "tok_declined"}),
          order_body(shipping_address={**order_body()["shipping_address"], "country": "AQ"})]


@pytest.fixture(scope="module")
def stack():
    """A stack whose replicas never archive on their own: the test runs the CLI."""
    running = OrchStack("archival", 28500)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_the_archive_command_moves_every_finished_saga_with_its_log_and_loses_none(stack):
    order_ids = [stack.place(body).json()["order_id"] for body in BODIES]
    wait_until(lambda: stack.all_final(order_ids), 60, what="the sagas to finish")
    before = {o: stack.saga(o) for o in order_ids}
    assert not any(s["archived"] for s in before.values())

    done = subprocess.run([sys.executable, "-m", "orchestrator.archive"], cwd=ROOT, timeout=60,
                          env={**stack.env, "ORCH_RETENTION_S": "0"}, capture_output=True,
                          text=True, check=True)
    assert "moved 4 finished saga(s)" in done.stdout

    for order_id in order_ids:
        after = stack.saga(order_id)
        assert after["archived"] and after["state"] == before[order_id]["state"]
        assert after["log"] == before[order_id]["log"]
        timeline = stack.get("orders-api", f"/orders/{order_id}/timeline")
        assert timeline["steps"] == before[order_id]["log"]
    assert stack.get("orchestrator-0", "/sagas")["items"] == []


def test_a_saga_within_the_retention_stays_live(stack):
    order_id = stack.place(order_body()).json()["order_id"]
    wait_until(lambda: stack.all_final([order_id]), 60, what="the saga to finish")
    subprocess.run([sys.executable, "-m", "orchestrator.archive"], cwd=ROOT, timeout=60,
                   env={**stack.env, "ORCH_RETENTION_S": "3600"}, check=True,
                   capture_output=True)
    assert stack.saga(order_id)["archived"] is False
