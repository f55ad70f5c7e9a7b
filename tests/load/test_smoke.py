"""A smoke run of the load harness: one short scenario on each variant, on moved ports.

The same `python -m load demo` as `make demo`, with seconds instead of minutes, so a broken
harness (locustfile, sampler, audit, report) is found by `make test`, not by the next demo.
"""
import json
import os
import subprocess
import sys

import pytest

from audit.ledger import EXPECTED
from shared.runtime import config
from tests.support import ROOT, endings

PORT_OFFSET = 21000
LOAD_AMQP_URL = "amqp://guest:guest@127.0.0.1:5675/%2F"


@pytest.mark.broker
@pytest.mark.timeout(240)
def test_the_harness_runs_the_outage_scenario_on_both_variants_and_records_the_audit(tmp_path):
    out = tmp_path / "report"
    env = dict(os.environ, VAR_DIR=str(ROOT / "var" / "load-smoke"), PYTHONPATH=str(ROOT))
    finished = subprocess.run(
        [sys.executable, "-m", "load", "demo", "--seconds", "5", "--scenario", "outage",
         "--variant", "choreo", "--variant", "orch",  # orch-amqp: tests/load/test_bench.py
         "--no-floor", "--port-offset", str(PORT_OFFSET), "--amqp-url", LOAD_AMQP_URL,
         "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=230)
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-2000:]

    for name in ("report.md", "report.html", "summary.txt", "charts/summary.png",
                 "charts/outage.png"):
        assert (out / name).is_file(), name
    summaries = json.loads((out / "summary.json").read_text())
    assert {s["variant"] for s in summaries} == {"choreo", "orch"}
    made = json.loads((out / "record.json").read_text())  # what make publish-run publishes
    assert made["kind"] == "demo" and made["machine"]["cores"] > 0 and made["commit"]
    assert {"outage/choreo", "outage/orch"} <= set(made["figures"]) and made["figures"]["took_s"]
    for summary in summaries:
        folder = out / "outage" / summary["variant"]
        assert (folder / "locust_stats.csv").is_file() and (folder / "locust.html").is_file()
        tab = (folder / "locust_sagas.csv").read_text()  # the Sagas tab, linked from the report
        assert tab.startswith("what,count,") and "\nplaced (201/202)," in tab
        assert summary["audit_ok"] is True and "every order final" in summary["audit"]
        assert "outcome as asked" in summary["audit"], "the audit did not get Locust's ledger"
        ledger = summary["ledger"]  # what Locust sent and was told, counted from its ledger
        assert ledger["accepted"] > 0, f"{summary['variant']}: the smoke placed no order"
        # Locust stops its users mid-request: an order may exist whose answer never came, but
        # never more orders than requests sent (the audit ties each to its key's customer).
        assert ledger["accepted"] <= sum(summary["orders"].values()) <= ledger["sent"], ledger
        assert set(ledger["asked"]) <= set(EXPECTED) and ledger["ended"] == endings(ledger["asked"])
        assert [action for _, action, _ in summary["events"]] == ["stop", "start"]
        # the ledger times every POST, so the report splits the outage's answers by status
        window = summary["outage_window"]
        assert window["timed"] and sum(len(t) for t in window["answers"].values()) > 0, window
        budget = summary["budget"]  # the record the reports rely on (load/budgets.py)
        assert set(budget) == {"mode", "reason", "period_ms", "cores", "used_cores", "throttled"}
        assert budget["mode"] in ("cgroup-v1", "cgroup-v2", "off") and budget["period_ms"] == 100
        assert {"locust", "orders-api"} <= set(budget["used_cores"]) == set(budget["cores"])
        assert (budget["mode"] == "off") == (budget["reason"] != "")
        if budget["mode"] != "off":  # auto, where cgroups are writable: every program budgeted
            assert None not in budget["cores"].values(), budget["cores"]
            assert all(0 <= t <= 1 for t in budget["throttled"].values())
    report = (out / "report.md").read_text()
    assert "| pass |" in report
    # what the programs logged at ERROR, read from each run's runner.log (load/logged.py)
    assert all(isinstance(summary["logged_errors"], dict)
               and isinstance(summary["logged_warnings"], dict) for summary in summaries)
    assert all(isinstance(made["figures"][f"outage/{summary['variant']}"]["logged_error_lines"],
                          list) for summary in summaries)
    assert "## Errors and warnings the programs logged" in report
    assert "CPU budgets: " in report and "| program | budget (cores) | used (cores) |" in report
    # the same concurrency budget per service in both variants, stated (runner/processes.py)
    assert "## Concurrency budget per service" in report
    wanted = config.concurrency()  # CONCURRENCY: the one setting of both variants
    assert f"| choreo | payments-worker | 1 | {wanted} consumers per queue" in report
    assert f"| orch | payments-api | 1 | {wanted} |" in report
