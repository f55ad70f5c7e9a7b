"""Archival: finished sagas move with their whole step log to the archive; none is lost, on
SQLite and on PostgreSQL (the orchestrator's database; the services keep SQLite)."""
import subprocess
import sys

import pytest

from tests.integration.conftest_orch import ROOT, OrchStack, order_body, wait_until
from tests.support import throwaway_postgres, tree_on_path

tree_on_path("orch")
from commands import http_session  # noqa: E402  (orders-orch/commands/)

POSTGRES_PORT = 15436

BODIES = [order_body(), order_body(items=[{"sku": "LAMP-LIMITED", "quantity": 100}]),
          order_body(payment={"card_token": "tok_declined"}),
          order_body(shipping_address={**order_body()["shipping_address"], "country": "AQ"})]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(request):
    """A stack whose replicas never archive on their own: the test runs the CLI."""
    env = {}
    if request.param == "postgres":
        env["ORCHESTRATOR_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    running = OrchStack(f"archival-{request.param}", 28500 if not env else 28550, env=env)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster with an empty database for the orchestrator."""
    with throwaway_postgres(POSTGRES_PORT, "test-archival-postgres-cluster") as cluster:
        cluster.create_databases(["archival"])
        yield f"postgresql+psycopg://postgres@127.0.0.1:{POSTGRES_PORT}/archival"


def archive(stack):
    """Run `python -m orchestrator.archive` with no retention; return its output."""
    done = subprocess.run([sys.executable, "-m", "orchestrator.archive"], cwd=ROOT, timeout=60,
                          env={**stack.env, "ORCH_RETENTION_S": "0"}, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def place_and_finish(stack, bodies):
    order_ids = [stack.place(body).json()["order_id"] for body in bodies]
    wait_until(lambda: stack.all_final(order_ids), 60, what="the sagas to finish")
    return order_ids


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


def test_archival_goes_on_after_the_newest_log_lines_were_archived(stack):
    first = place_and_finish(stack, BODIES[:2])
    archive(stack)  # every log line moves: the live log is empty now
    logs = {o: stack.saga(o)["log"] for o in first}
    later = place_and_finish(stack, BODIES[2:])  # new log lines, written after that
    before = {o: stack.saga(o) for o in later}

    assert f"moved {len(later)} finished saga(s)" in archive(stack)
    for order_id in later:
        after = stack.saga(order_id)
        assert after["archived"] and after["log"] == before[order_id]["log"]
    assert {o: stack.saga(o)["log"] for o in first} == logs  # nothing overwritten or lost
    assert stack.get("orchestrator-0", "/sagas")["items"] == []


def test_a_saga_started_again_after_its_archival_is_answered_from_the_archive(stack):
    [order_id] = place_and_finish(stack, BODIES[:1])
    archive(stack)
    archived = stack.saga(order_id)
    order = stack.order(order_id)
    facts = {"order_id": order_id, "customer_id": order["customer_id"],
             "items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in order["items"]],
             "total_cents": order["total_cents"], "currency": order["currency"],
             "card_token": "tok_visa", "shipping_address": {"country": "DE"}}

    again = http_session.this_thread().post(f"{stack.url('orchestrator-0')}/sagas",
                                            json={"order": facts}, timeout=15)
    assert again.status_code == 201 and again.json()["state"] == archived["state"], again.text
    assert again.json()["archived"] is True  # the answer says where it came from
    assert stack.saga(order_id) == archived  # not run twice: still archived, same log
    assert stack.get("orchestrator-0", "/sagas")["items"] == []
    assert "moved 0 finished saga(s)" in archive(stack)
