"""CPU budgets (runner/budgets.py, runner/cgexec.py, load/budgets.py) against fake cgroup trees.

A fake tree is a folder laid out as the kernel lays out cgroupfs: the files the runner writes
(quotas, cgroup.procs) are plain files, and the counters the kernel keeps (cpu.stat,
cpuacct.usage) the test writes itself, as the kernel would while the programs run.
"""
import os
import subprocess
import sys
import time

import pytest

from load import budgets as load_budgets
from runner import budgets, cgexec, supervisor
from runner.__main__ import _budget_programs, process_names
from runner.processes import Program
from tests.support import ROOT


def fake_v1(root, co_mounted=False):
    """Lay out cgroup v1's cpu and cpuacct hierarchies (or one `cpu,cpuacct` folder)."""
    if co_mounted:
        (root / "cpu,cpuacct").mkdir(parents=True)
        (root / "cpu").symlink_to("cpu,cpuacct")
        (root / "cpuacct").symlink_to("cpu,cpuacct")
    else:
        (root / "cpu").mkdir(parents=True)
        (root / "cpuacct").mkdir()
    for name, text in (("cpu/cpu.cfs_quota_us", "-1"), ("cpu/cpu.cfs_period_us", "100000"),
                       ("cpuacct/cpuacct.usage", "0"), ("cpu/cgroup.procs", ""),
                       ("cpuacct/cgroup.procs", "")):
        (root / name).write_text(text)
    return root


def fake_v2(root):
    """Lay out a cgroup v2 root with the cpu controller available, not yet handed down."""
    root.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("memory\n")
    (root / "cgroup.procs").write_text("")
    return root


def test_v1_with_separate_hierarchies_sets_the_quota_and_reads_usage_from_both(tmp_path):
    root = fake_v1(tmp_path / "fs")
    run = budgets.Budgets(budgets.find(root), "choreo-1")
    assert run.mode == "cgroup-v1"
    folders = run.create("payments-worker", 0.25)
    group = "orders-saga/choreo-1/payments-worker"
    assert folders == [str(root / "cpu" / group), str(root / "cpuacct" / group)]
    assert (root / "cpu" / group / "cpu.cfs_quota_us").read_text() == "25000"
    assert run.controller.quota(group) == 0.25
    (root / "cpu" / group / "cpu.stat").write_text(
        "nr_periods 40\nnr_throttled 10\nthrottled_time 5000\n")
    (root / "cpuacct" / group / "cpuacct.usage").write_text("1500000000\n")
    assert run.usage() == {"payments-worker": budgets.Usage(1.5, 40, 10)}
    run.remove()
    assert not (root / "cpu" / "orders-saga").exists()
    assert not (root / "cpuacct" / "orders-saga").exists()


def test_v1_co_mounted_is_one_hierarchy_to_join(tmp_path):
    root = fake_v1(tmp_path / "fs", co_mounted=True)
    run = budgets.Budgets(budgets.find(root), "orch-1")
    assert run.create("orchestrator-0", 0.5) == [
        str(root / "cpu" / "orders-saga/orch-1/orchestrator-0")]
    assert (root / "cpu,cpuacct/orders-saga/orch-1/orchestrator-0/cpu.cfs_quota_us"
            ).read_text() == "50000"


def test_v2_hands_the_cpu_controller_down_and_writes_cpu_max(tmp_path):
    root = fake_v2(tmp_path / "fs")
    run = budgets.Budgets(budgets.find(root), "orch-7")
    assert run.mode == "cgroup-v2"
    run.create("broker", 0.5)
    assert "+cpu" in (root / "cgroup.subtree_control").read_text()
    assert "+cpu" in (root / "orders-saga/orch-7/cgroup.subtree_control").read_text()
    group = root / "orders-saga/orch-7/broker"
    assert (group / "cpu.max").read_text() == "50000 100000"
    (group / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n"
                                    "nr_periods 100\nnr_throttled 30\n")
    assert run.usage()["broker"] == budgets.Usage(2.5, 100, 30)
    run.remove()
    assert not (root / "orders-saga").exists()


def test_where_no_controller_exists_on_fails_in_one_line_and_auto_runs_unbudgeted(tmp_path):
    (tmp_path / "unified").mkdir()
    with pytest.raises(SystemExit) as failed:
        budgets.for_run("on", "x", root=tmp_path)
    message = str(failed.value)
    assert "\n" not in message and "no cgroup CPU controller" in message
    assert "BUDGET=off" in message  # how to run without
    assert budgets.for_run("auto", "x", root=tmp_path) == (
        None, f"no cgroup CPU controller under {tmp_path} (neither v1's cpu and cpuacct nor "
              "v2's cpu; `ip netns exec` mounts a /sys without them)")
    assert budgets.for_run("off", "x", root=tmp_path) == (None, "BUDGET=off")


def test_a_read_only_controller_is_reported_as_not_writable(tmp_path, monkeypatch):
    root = fake_v1(tmp_path / "fs")
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root passes any mode check
    budget, reason = budgets.for_run("auto", "x", root=root)
    assert budget is None and "is not writable" in reason


def test_an_unknown_mode_is_refused():
    with pytest.raises(SystemExit, match="BUDGET must be one of off, on, auto"):
        budgets.for_run("yes", "x")


def test_cgexec_joins_every_hierarchy_and_becomes_the_command(tmp_path):
    groups = [tmp_path / "cpu", tmp_path / "cpuacct"]
    for group in groups:
        group.mkdir()
    done = subprocess.run([sys.executable, "-m", "runner.cgexec", *map(str, groups), "--",
                           sys.executable, "-c", "import os; print(os.getpid())"],
                          cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    pid = done.stdout.strip()  # exec keeps the pid: the command is the process that joined
    assert [(g / "cgroup.procs").read_text() for g in groups] == [pid, pid]


def test_cgexec_without_a_command_says_how_to_use_it():
    with pytest.raises(SystemExit, match="usage: python -m runner.cgexec"):
        cgexec.main(["/some/group", "--"])


def test_each_replica_of_a_program_gets_its_own_group(tmp_path):
    root = fake_v1(tmp_path / "fs")
    run = budgets.Budgets(budgets.find(root), "choreo-2")
    programs = [Program("payments-api", ["python", "-m", "gunicorn"], port=8012),
                Program("payments-worker", ["python", "-m", "payments.worker"], numprocs=2)]
    assert process_names(programs[1]) == ["payments-worker-0", "payments-worker-1"]
    join = _budget_programs(run, programs)
    assert set(run.cores) == {"payments-api", "payments-worker-0", "payments-worker-1"}
    text = supervisor.write_config(tmp_path / "sv", programs, {}, join).read_text()
    worker = next(line for line in text.splitlines() if "payments.worker" in line)
    assert "orders-saga/choreo-2/payments-worker-%(process_num)d --" in worker


def budget_facts(cores, used, throttled):
    return {"mode": "cgroup-v1", "reason": "", "period_ms": 100, "cores": cores,
            "used_cores": used, "throttled": throttled}


def test_saturated_when_used_reaches_the_budget_or_throttled_often():
    budget = budget_facts({"a": 0.25, "b": 0.25, "c": 0.25, "d": None},
                          {"a": 0.24, "b": 0.1, "c": 0.2, "d": 1.5},
                          {"a": 0.0, "b": 0.3, "c": 0.05, "d": None})
    assert load_budgets.saturated(budget, "a")          # 96 % of its budget
    assert load_budgets.saturated(budget, "b")          # throttled in 30 % of the periods
    assert not load_budgets.saturated(budget, "c")      # 80 %, rarely throttled
    assert not load_budgets.saturated(budget, "d")      # unbudgeted: never "saturated"
    assert load_budgets.saturated(budget, "c", threshold=0.8)
    assert not load_budgets.saturated(budget, "nobody")


def test_the_meter_reports_the_cgroup_figures_over_the_load_and_the_sampler_for_the_rest(
        tmp_path):
    root = fake_v1(tmp_path / "fs")
    run = budgets.Budgets(budgets.find(root), "orch-3")
    run.create("orders-api", 0.25)
    group = root / "cpu/orders-saga/orch-3/orders-api"
    (group / "cpu.stat").write_text("nr_periods 10\nnr_throttled 1\n")
    (root / "cpuacct/orders-saga/orch-3/orders-api/cpuacct.usage").write_text("1000000000")
    meter = load_budgets.Meter("cgroup-v1", "", {"orders-api": ("orders-saga/orch-3/orders-api",
                                                                0.25)}, root=root)
    meter.start()
    (group / "cpu.stat").write_text("nr_periods 30\nnr_throttled 11\n")
    (root / "cpuacct/orders-saga/orch-3/orders-api/cpuacct.usage").write_text("1400000000")
    meter.started = time.monotonic() - 2.0  # the load took two seconds
    facts = meter.stop({"orders-api": 99.0, "locust": 0.5})
    assert set(facts) == {"mode", "reason", "period_ms", "cores", "used_cores", "throttled"}
    assert facts["cores"] == {"locust": None, "orders-api": 0.25}
    assert facts["used_cores"]["orders-api"] == pytest.approx(0.2, abs=0.01)  # 0.4 s over 2 s
    assert facts["used_cores"]["locust"] == pytest.approx(0.25, abs=0.01)
    assert facts["throttled"] == {"locust": None, "orders-api": 0.5}  # 10 of 20 periods
    rows = load_budgets.table_rows(facts)
    assert rows[1][:2] == ["orders-api", "0.25"] and rows[1][4] == "50%"
    assert "saturated" in rows[1][3] and rows[0][1] == "-"


def test_unbudgeted_runs_say_why_and_show_only_the_sampled_use():
    meter = load_budgets.Meter("off", "BUDGET=off", {})
    meter.start()
    facts = meter.stop({"payments-worker": 0.0})
    assert facts["mode"] == "off" and facts["reason"] == "BUDGET=off"
    assert facts["cores"] == {"payments-worker": None} and facts["throttled"] == {
        "payments-worker": None}
    assert "off (BUDGET=off)" in load_budgets.mode_line(facts)
