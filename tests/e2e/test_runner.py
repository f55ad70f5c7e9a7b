"""The runner lets one service stop and restart while the rest keep running, and runs the
choreographed workers below the APIs' CPU priority."""
import psutil
import pytest

from shared.runtime import config
from tests.support import order, wait_final, get_json


@pytest.fixture
def payments_program(system):
    """The program that does the payments work in this variant."""
    return {"choreo": "payments-worker", "orch": "payments-api"}[system.variant]


def test_an_order_placed_while_payments_is_stopped_completes_once_it_is_back(
        system, http, urls, payments_program):
    system.runner("stop-service", system.variant, payments_program)
    try:
        response = http.post(f"{urls['orders']}/orders", json=order(sku="MUG-BLUE"), timeout=60)
        assert response.status_code in (201, 202)
        order_id = response.json()["order_id"]
        assert get_json(http, f"{urls['orders']}/orders/{order_id}")["status"] == "PENDING"
    finally:
        system.runner("start-service", system.variant, payments_program)
    assert wait_final(http, urls["orders"], order_id, timeout=120)["status"] == "COMPLETED"
    status = system.runner("status", system.variant).stdout
    assert "RUNNING" in status and "STOPPED" not in status


def test_choreographed_workers_yield_the_cpu_to_the_apis_and_nothing_else_does(system):
    # Trade-off 55 (orders-choreo/service_worker.py): a worker lowers its priority by WORKER_NICE.
    # The orchestrated variant has no background work to yield: every program stays level.
    niceness = {}  # program -> the niceness of its process and every child (gunicorn's workers)
    for line in system.runner("status", system.variant).stdout.splitlines():
        program, pid = line.split(":")[0], int(line.split("pid")[1])
        process = psutil.Process(pid)
        niceness[program] = {p.nice() for p in [process, *process.children(recursive=True)]}
    workers = {p for p in niceness if system.variant == "choreo" and p.endswith("-worker")}
    level = set().union(*(niceness[p] for p in niceness if p not in workers))
    assert len(level) == 1, niceness
    expected = min(19, level.pop() + config.worker_nice())  # 19: the lowest priority there is
    assert all(niceness[p] == {expected} for p in workers), niceness
    assert len(workers) == (len(config.SERVICES) if system.variant == "choreo" else 0)
