"""`python -m runner up orch --db postgres` with BUDGET=on: each program, and PostgreSQL, runs
in a cgroup of its own with the configured quota; the variant still settles orders; the groups
are gone once the runner stopped (runner/budgets.py)."""
import json
from pathlib import Path

import psutil
import pytest
import requests

from runner import budgets
from tests.support import ROOT, RunningVariant, moved_ports, order, wait_final

PORT_OFFSET = 13000
POSTGRES_PORT = "15443"  # apart from make test's clusters (this runs in make test-faults)


def members(controller, group):
    """Return the pids in a group, read in every hierarchy (they must agree)."""
    found = [{int(pid) for pid in (Path(top) / group / "cgroup.procs").read_text().split()}
             for top in controller.hierarchies()]
    assert all(pids == found[0] for pids in found), found
    return found[0]


@pytest.fixture
def controller():
    budget, reason = budgets.for_run("auto", "probe")
    if budget is None:
        pytest.skip(f"no writable cgroup CPU controller here: {reason}")
    return budget.controller


@pytest.mark.timeout(120)
def test_every_program_runs_in_its_own_budget_which_is_removed_at_stop(controller):
    env = {**moved_ports("orch", PORT_OFFSET), "BUDGET": "on", "BUDGET_CORES": "0.3",
           "BUDGET_DB_CORES": "0.4", "POSTGRES_PORT": POSTGRES_PORT}
    running = RunningVariant("orch", ROOT / "var" / "test-e2e-budgets", env, db="postgres")
    running.start()
    try:
        facts = json.loads((running.var_dir / "orch" / "budget.json").read_text())
        assert facts["mode"] == controller.mode and facts["cores"]["database"] == 0.4
        for line in running.runner("status", "orch").stdout.splitlines():
            program, pid = line.split(":")[0], int(line.split("pid")[1])
            group = facts["groups"][program]
            cores = 0.6 if program == "orders-api" else 0.3  # two workers: twice BUDGET_CORES
            assert controller.quota(group) == pytest.approx(cores), program
            family = {pid} | {p.pid for p in psutil.Process(pid).children(recursive=True)}
            assert family <= members(controller, group), program  # gunicorn's workers too
        postmaster = members(controller, facts["groups"]["database"])
        assert any("postgres" in psutil.Process(pid).name() for pid in postmaster)
        with requests.Session() as http:
            placed = http.post(f"{running.url('orders')}/orders", json=order(), timeout=60)
            assert placed.status_code in (201, 202), placed.text
            final = wait_final(http, running.url("orders"), placed.json()["order_id"])
            assert final["status"] == "COMPLETED"
    finally:
        running.stop()
    run = Path(facts["groups"]["orders-api"]).parent
    assert not [top for top in controller.hierarchies() if (Path(top) / run).exists()]
