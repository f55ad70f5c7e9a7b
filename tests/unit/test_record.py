"""A run's record (load/record.py): the machine, date, commit, settings and figures of a report,
as `make publish-run` copies it to docs/runs/ for the docs' figures."""
import json

import pytest

from load import record
from ops import figures as figures_module

MACHINE = ("AMD EPYC, 2 cores, 24 GiB RAM, Debian GNU/Linux 12 (bookworm) (Linux 6.18), "
           "2026-12-06 01:56 UTC, load average before the runs 3.2")
FLOOR = {"amqp": {"p50_ms": 0.6, "per_s": 1400.0, "cpu_ms": 0.68},
         "http": {"p50_ms": 1.3, "per_s": 740.0, "cpu_ms": 1.47}}


def _run(rate, orchestrator_ms):
    return {"variant": "orch", "db": "sqlite", "orders": 1500, "orders_per_s": rate,
            "cpu_ms": {"orchestrator": orchestrator_ms, "orders-api": 7.6},
            "half_rate": {"post_ms": {"p50": 39.0, "p99": 72.0}}, "budget": {"mode": "off"}}


def _bench_report(folder):
    folder.mkdir()
    (folder / "runs.json").write_text(json.dumps([_run(47.8, 14.2), _run(45.3, 12.1),
                                                  _run(56.6, 15.3)]))
    (folder / "floor.json").write_text(json.dumps(FLOOR))
    (folder / "bench.md").write_text(f"# Drain benchmark\n\n{MACHINE}\n")
    return folder


def test_the_machine_line_of_a_report_becomes_data():
    machine = record.machine(MACHINE)
    assert machine["cpu"] == "AMD EPYC" and machine["cores"] == 2
    assert machine["date"] == "2026-12-06 01:56" and machine["load_average"] == 3.2
    assert record.machine("something else") == {"described": "something else"}


def test_a_bench_report_from_before_records_is_published_with_its_run_and_an_inferred_commit(
        tmp_path, monkeypatch):
    monkeypatch.setattr(record, "RUNS", tmp_path / "runs")
    target = record.publish(_bench_report(tmp_path / "bench-20261206-015630"))
    made = json.loads(target.read_text())
    assert target.name == "bench-20261206-015630.json" and made["kind"] == "bench"
    assert made["date"] == "2026-12-06 01:56 UTC" and made["machine"]["cores"] == 2
    assert made["commit_how"].startswith("inferred") and made["commit"]
    assert made["settings"] == {"variants": ["orch"], "dbs": ["sqlite"], "orders": 1500,
                                "runs": 3, "budget": "off"}
    orch = made["figures"]["sqlite/orch"]
    assert orch["orders_per_s"] == {"median": 47.8, "low": 45.3, "high": 56.6}
    assert orch["cpu_ms_per_order"] == {"median": 21.8, "low": 19.7, "high": 22.9}
    assert orch["floor_cpu_ms"] == 11.8 and orch["floor_multiple"]["median"] == 1.9
    assert made["figures"]["floor"]["http"]["cpu_ms"] == 1.47


def test_a_record_the_run_wrote_itself_is_published_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setattr(record, "RUNS", tmp_path / "runs")
    folder = tmp_path / "floor-20261206-060000"
    folder.mkdir()
    written = record.write(folder, "floor", MACHINE, {"round_trips": 300},
                           {"floor": record.floor_figures(FLOOR)})
    assert written["commit_how"] == "HEAD when the run started"
    published = json.loads(record.publish(folder, name="floor-today").read_text())
    assert published == {**written, "name": "floor-today"}


def _cluster_run(rate, cpu):
    return {"orders": 500, "finished_per_s": rate, "cpu_ms_per_order": cpu,
            "post_p99_ms": 80.0, "completion_p99_ms": 900.0, "not_final": 0}


def test_a_cluster_bench_report_is_published_with_each_settings_median_and_range(
        tmp_path, monkeypatch):
    monkeypatch.setattr(record, "RUNS", tmp_path / "runs")
    folder = tmp_path / "bench-cluster-20261206-091640"
    folder.mkdir()
    (folder / "results.md").write_text("# choreo: one node against a three-node cluster\n")
    (folder / "results.json").write_text(json.dumps({
        "one node, classic": {"repeats": [_cluster_run(30.1, 60.0), _cluster_run(28.4, 64.2)]},
        "three nodes, quorum": {"repeats": [_cluster_run(20.5, 90.3),
                                            _cluster_run(22.0, 88.1)]}}))
    made = json.loads(record.publish(folder).read_text())
    assert made["kind"] == "bench-cluster" and made["settings"]["variant"] == "choreo"
    assert made["commit_how"].startswith("inferred") and made["settings"]["runs"] == 2
    quorum = made["figures"]["three nodes, quorum"]
    assert quorum["finished_per_s"] == {"median": 21.2, "low": 20.5, "high": 22.0}
    assert quorum["cpu_ms_per_order"]["high"] == 90.3 and quorum["post_p99_ms"]["median"] == 80


def _demo_run(orders_api_s, asks, orders=1000, peak=30.0):
    """One run's summary as load/results.py gives it, with what the record reads."""
    return {"scenario": "steady", "variant": "choreo", "users": 240, "seconds": 40,
            "finished_per_s": orders / 40, "orders": {"COMPLETED": orders}, "peak_per_s": peak,
            "peak_users": 240, "post": {50: 60.0, 95: 200.0, 99: 300.0},
            "final": {50: 1600.0, 95: 3000.0, 99: 3600.0}, "shed": 0, "errors": 0,
            "cpu_ms_per_order": 22.0, "audit_ok": True, "budget": {"mode": "off"},
            "asks_per_order": asks, "cpu_s": {"orders-api": orders_api_s, "broker": 3.8}}


def test_a_demo_record_keeps_each_programs_cpu_per_order_and_the_requests_for_outcomes():
    runs = [_demo_run(10.7, 0.24, 2000), _demo_run(9.42, 0.22, 2000), _demo_run(4.3, 0.22)]
    figures = record.demo_figures([{**runs[1], "repeats": runs}], None)["steady/choreo"]
    assert figures["cpu_ms_per_order_by_program"]["orders-api"] == {
        "median": 4.71, "low": 4.3, "high": 5.35}  # 10.7 CPU s over 2,000 orders: 5.35 ms
    assert figures["asks_per_order"] == {"median": 0.22, "low": 0.22, "high": 0.24}
    older = {**{k: v for k, v in runs[0].items() if k != "asks_per_order"},
             "gets_per_order": 0.93}  # a report from before: one wait per order
    assert record.demo_figures([older], None)["steady/choreo"]["asks_per_order"]["median"] == 0.93


def test_a_demo_record_keeps_the_peak_as_the_report_shows_it_the_median_of_the_runs():
    # the median run by finished orders (the second) did not have the median peak
    runs = [_demo_run(10.7, 0.24, 2000, peak=152.4), _demo_run(9.42, 0.22, 1800, peak=132.6),
            _demo_run(4.3, 0.22, 1900, peak=136.8)]
    figures = record.demo_figures([{**runs[2], "repeats": runs}], None)["steady/choreo"]
    assert figures["peak_per_s"] == {"median": 136.8, "low": 132.6, "high": 152.4}
    made = record.record("demo", "20261207-223616", MACHINE, {"runs": 3, "budget": ["off"]},
                         {"steady/choreo": figures}, ran={"commit": "aaaaaaa", "commit_how": ""})
    root = figures_module.ROOT
    shown = figures_module.demo_table([made], root / "README.md", root).splitlines()[-1]
    assert "| 136.8 (132.6-152.4) (240) |" in shown


def test_a_run_made_in_a_checkout_of_another_commit_is_published_with_that_commit(
        tmp_path, monkeypatch):
    monkeypatch.setattr(record, "RUNS", tmp_path / "runs")
    folder = _bench_report(tmp_path / "bench-20261207-143700")
    made = json.loads(record.publish(folder, commit="a52eef8").read_text())
    assert made["commit"] == "a52eef8"
    assert made["commit_how"] == "stated when published: the run's own checkout"
    # a record the run wrote itself names the commit it ran: it wins over a stated one
    written = tmp_path / "floor-20261206-060000"
    written.mkdir()
    record.write(written, "floor", MACHINE, {}, {"floor": None})
    with pytest.raises(SystemExit, match="already names its commit"):
        record.publish(written, commit="a52eef8")


def test_a_stated_commit_must_be_one_of_the_history(tmp_path, monkeypatch):
    monkeypatch.setattr(record, "RUNS", tmp_path / "runs")
    folder = _bench_report(tmp_path / "bench-20261207-143700")
    for wrong in ("0000000", "not-a-commit"):
        with pytest.raises(SystemExit, match=wrong):
            record.publish(folder, commit=wrong)
    assert not (tmp_path / "runs").exists()


class _History:
    """`record.commit` as git would answer it: one commit when the run starts, another once
    someone commits while it runs."""
    def __init__(self):
        self.head = {"commit": "aaaaaaa", "commit_how": "HEAD when the run started"}

    def __call__(self, before=None):
        return dict(self.head)

    def commit_during_the_run(self):
        self.head = {"commit": "bbbbbbb", "commit_how": "HEAD when the run started"}


def test_a_bench_is_credited_to_the_commit_it_started_on_not_one_made_while_it_ran(
        tmp_path, monkeypatch):
    from load import bench, bench_report, report
    history = _History()
    monkeypatch.setattr(record, "commit", history)
    monkeypatch.setattr(report, "machine", lambda: MACHINE)

    def measure(variant, db, *_args):
        history.commit_during_the_run()
        return {**_run(47.8, 14.2), "floor": FLOOR}
    monkeypatch.setattr(bench, "measure", measure)
    monkeypatch.setattr(bench_report, "markdown", lambda *args: "# Drain benchmark\n")
    monkeypatch.setattr(bench_report, "console", lambda *args: "")
    monkeypatch.setenv("BENCH_VARIANTS", "orch")
    monkeypatch.setenv("BENCH_DBS", "sqlite")
    monkeypatch.setenv("BENCH_RUNS", "1")
    assert bench.bench(0, "amqp://unused", out=tmp_path / "bench", log=lambda *_: None) == 0
    made = json.loads((tmp_path / "bench" / "record.json").read_text())
    assert made["commit"] == "aaaaaaa"


def test_a_demo_is_credited_to_the_commit_it_started_on_not_one_made_while_it_ran(
        tmp_path, monkeypatch):
    import contextlib
    from load import __main__ as load_cli
    from load import report
    history = _History()
    monkeypatch.setattr(record, "commit", history)

    def run_scenario(args, scenario, variant, folder, harness):
        history.commit_during_the_run()
        return {}, folder
    monkeypatch.setattr(load_cli, "_repeat", run_scenario)
    monkeypatch.setattr(load_cli, "_broker", lambda *args: contextlib.nullcontext())
    monkeypatch.setattr(load_cli, "Harness", lambda: type(
        "NoBudgets", (), {"budgets": None, "reason": "", "remove": lambda self: None})())
    monkeypatch.setattr(report, "machine", lambda: MACHINE)
    monkeypatch.setattr(report, "write", lambda *args: [])
    monkeypatch.setattr(report, "console_table", lambda *args: "")
    monkeypatch.setattr(record, "demo_settings", lambda summaries: {})
    monkeypatch.setattr(load_cli, "log", lambda *args: None)
    args = load_cli.parse(["demo", "--out", str(tmp_path / "demo"), "--scenario", "steady",
                           "--variant", "choreo", "--no-floor"])
    assert load_cli.demo(args) == 0
    assert json.loads((tmp_path / "demo" / "record.json").read_text())["commit"] == "aaaaaaa"
