"""The errors the programs logged during a bench run (load/logged.py) and their section of
bench.md (load/bench_report.py)."""
import json

from load import bench_report, logged
from tests.unit.test_bench_parts import _bench_run

SAGA = "80829d9e-f8c8-4b0c-977f-ad5f11720d89"
LOG = f"""runner: starting the programs
orchestrator-0        | 2026-12-07 17:35:03,955 ERROR orchestrator-0 corr=- orchestrator.replica: recovery loop: round failed
orchestrator-0        | Traceback (most recent call last):
orchestrator-0        | psycopg.errors.UniqueViolation: duplicate key value violates unique constraint
orchestrator-0        | 2026-12-07 17:35:06,324 ERROR orchestrator-0 corr=- orchestrator.replica: recovery loop: round failed
orders-api            | 2026-12-07 17:35:07,001 INFO orders-api corr={SAGA} shared.http: POST /orders 201
payments-api          | 2026-12-07 17:35:08,100 CRITICAL payments-api corr={SAGA} commands.amqp: command {SAGA}:charge_payment:do failed
inventory-api         | 2026-12-07 17:35:09,000 WARNING inventory-api corr=- shared.messaging: slow
orders-api            | 2026-12-07 17:35:10,000 WARNING orders-api corr={SAGA} orders.orchestrator_client: orchestrator http://127.0.0.1:8020 did not answer POST /sagas in 5.0s
orders-api            | 2026-12-07 17:35:11,000 WARNING orders-api corr=- orders.orchestrator_client: orchestrator http://127.0.0.1:8020 did not answer POST /sagas in 5.0s
"""


def test_the_error_lines_of_a_runner_log_are_counted_by_program_and_message(tmp_path):
    path = tmp_path / "runner.log"
    path.write_text(LOG)
    assert logged.logged_errors(path) == {
        "orchestrator-0: orchestrator.replica: recovery loop: round failed": 2,
        "payments-api: commands.amqp: command <id>:charge_payment:do failed": 1}
    assert logged.logged_errors(tmp_path / "missing.log") == {}
    assert logged.logged_warnings(path) == {
        "inventory-api: shared.messaging: slow": 1,
        "orders-api: orders.orchestrator_client: orchestrator http://127.0.0.1:8020 did not "
        "answer POST /sagas in 5.0s": 2}


def test_bench_md_lists_the_logged_errors_and_warnings_of_each_run_or_says_there_were_none():
    quiet, noisy = _bench_run("orch-amqp", 30.0), _bench_run("orch-amqp", 30.0, db="postgres")
    quiet["logged_errors"], quiet["logged_warnings"] = {}, {}
    noisy["logged_errors"] = {"orchestrator-0: recovery loop: round failed": 4}
    noisy["logged_warnings"] = {"orders-api: a | b": 2}
    section = bench_report._logged_errors([quiet, noisy])
    assert "| orch-amqp | postgres | 1 | error | 4 | orchestrator-0: recovery loop: round " \
        "failed |" in section
    assert "| orch-amqp | postgres | 1 | warning | 2 | orders-api: a \\| b |" in section
    assert "| orch-amqp | sqlite |" not in section
    assert "None" in bench_report._logged_errors([quiet])
    assert bench_report._logged_errors([_bench_run("orch", 30.0)]) == ""  # an older runs.json


def test_a_demo_run_reads_its_runner_log_and_the_report_lists_each_repeat_or_says_none(tmp_path):
    from load import document, report, results
    (tmp_path / "run.json").write_text(json.dumps(
        {"seconds": 10, "t0": 0.0, "cpu_s": {}, "orders": {}}))
    (tmp_path / "runner.log").write_text(LOG)
    read = results.summary(tmp_path)
    assert read["logged_errors"] == logged.logged_errors(tmp_path / "runner.log")
    assert sum(read["logged_errors"].values()) == 3
    assert sum(read["logged_warnings"].values()) == 3
    quiet = {"scenario": "steady", "variant": "orch-amqp", "logged_errors": {}}
    noisy = {"scenario": "outage", "variant": "orch", "repeats": [
        {"logged_errors": {}},
        {"logged_errors": {"orchestrator-0: step | failed": 2},
         "logged_warnings": {"orders-api: did not answer POST /sagas in 5.0s": 7}}]}
    assert "None" in document.markdown(report.logged_blocks([quiet]))
    text = document.markdown(report.logged_blocks([quiet, noisy]))
    assert "| outage | orch | 2 | error | 2 | orchestrator-0: step \\| failed |" in text
    assert "| outage | orch | 2 | warning | 7 | orders-api: did not answer POST /sagas in 5.0s |" \
        in text
    assert "| steady |" not in text and "| outage | orch | 1 |" not in text
