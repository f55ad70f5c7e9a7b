"""Small parts of `make bench` (load/bench.py, load/drain.py), of its floor's report
(load/report.py, load/bench_report.py) and of the harness's variants (load/variant.py) that need
no running system."""
import collections
import time

import psutil
import pytest

from load import __main__ as load_cli
from load import (bench, bench_report, charts, drain, floor, record, report, run, scaling,
                  scenarios, variant)

Times = collections.namedtuple("Times", "user system idle steal")


def test_the_stolen_share_is_steal_over_all_cpu_time_between_two_readings():
    before, after = Times(100, 50, 800, 50), Times(160, 70, 900, 70)
    assert bench._stolen_share(before, after) == 20 / 200
    assert bench._stolen_share(before, before) == 0.0


def test_paced_orders_leave_at_their_moments_whatever_the_answers_take(monkeypatch):
    sent = []

    def slow_post(_self, numbered):  # every answer takes 0.2 s, longer than the pace
        sent.append((numbered[0], time.monotonic()))
        time.sleep(0.2)
        return {"number": numbered[0]}
    monkeypatch.setattr(drain.Client, "_post", slow_post)
    records = drain.Client("http://unused", threads=8).place_paced(rate=20, seconds=1)
    assert [r["number"] for r in records] == list(range(20))
    first = sent[0][1]
    late = [at - first - number / 20 for number, at in sorted(sent)]
    assert max(late) < 0.1, "an order waited for the answers of the ones before it"


def test_the_floor_section_puts_each_variants_transport_cpu_per_order_beside_its_time():
    floor = {"amqp": {"p50_ms": 0.5, "p99_ms": 2.0, "per_s": 1500, "cpu_ms": 0.8},
             "http": {"p50_ms": 2.0, "p99_ms": 9.0, "per_s": 500, "cpu_ms": 1.5}}
    _title, table, lines, _rest = report.floor_blocks(floor, [])
    assert [row[-1] for row in table[2]] == ["0.80", "1.50"]
    assert "choreo: the same transports cost 6.3 CPU-ms per order" in lines[1]  # 6 hops + POST
    assert "orch: the same transports cost 12.0 CPU-ms per order" in lines[1]   # 8 calls
    assert "orch-amqp: the same transports cost 12.6 CPU-ms per order" in lines[1]  # 12 + 2
    older = {k: {m: v for m, v in f.items() if m != "cpu_ms"} for k, f in floor.items()}
    assert "CPU-ms" not in report.floor_blocks(older, [])[2][1]  # a report from before the CPU


FLOOR = {"amqp": {"p50_ms": 0.5, "p99_ms": 2.0, "per_s": 1500, "cpu_ms": 0.5},
         "http": {"p50_ms": 2.0, "p99_ms": 9.0, "per_s": 500, "cpu_ms": 2.0}}


def _bench_run(variant, cpu_ms, db="sqlite"):
    """Return a bench run's figures as load/bench.py records them (only what the tables read)."""
    return {"variant": variant, "db": db, "orders": 100, "drain_s": 2.0, "orders_per_s": 50.0,
            "cpu_ms": {"orders-api": cpu_ms}, "client_cpu_ms": 1.0,
            "post_ms": {"p50": 5, "p99": 9}, "completion_ms": {"p50": 50, "p99": 90},
            "post_errors": 0, "shed_429": 0, "statuses": {"COMPLETED": 70},
            "queues_empty_s": None, "budget": None}


def test_each_variant_s_floor_is_its_hops_and_round_trips_at_the_floor_s_cpu():
    assert floor.order_cpu_ms(FLOOR, "choreo") == 6 * 0.5 + 1 * 2.0
    assert floor.order_cpu_ms(FLOOR, "orch") == 8 * 2.0
    assert floor.order_cpu_ms(FLOOR, "orch-amqp") == 12 * 0.5 + 2 * 2.0
    assert floor.order_cpu_ms({"amqp": {"p50_ms": 1}, "http": {"p50_ms": 1}}, "orch") is None


def test_the_bench_gives_each_variant_s_cpu_per_order_as_a_multiple_of_its_floor():
    runs = [_bench_run("choreo", 12.0), _bench_run("orch", 40.0), _bench_run("orch-amqp", 25.0),
            _bench_run("orch-amqp", 35.0)]
    table = bench_report.console(runs, FLOOR)
    assert "| sqlite | choreo | 12.0 (one run) | 6 x 0.50 + 1 x 2.00 = 5.0 | x2.4 its floor |" \
        in table
    assert "| sqlite | orch | 40.0 (one run) | 0 x 0.50 + 8 x 2.00 = 16.0 | x2.5 its floor |" \
        in table
    assert ("| sqlite | orch-amqp | 30.0 (25.0-35.0) | 12 x 0.50 + 2 x 2.00 = 10.0 | x3.0 its "
            "floor (x2.5-x3.5) |") in table
    markdown = bench_report.markdown(runs, {"warmup": 1, "orders": 100, "threads": 8, "runs": 2,
                                            "variants": ["choreo", "orch", "orch-amqp"]},
                                     [], "a machine", 0.0, FLOOR)
    assert "x2.4 its floor" in markdown and "Issue 25 counted" in markdown
    assert "No floor was measured" in bench_report.console(runs, None)


def test_each_run_is_set_against_the_floor_measured_before_it():
    # The floor per run (load/bench.py): the same code costs more in a slow hour, and so does
    # the bare transport; a run is divided by its own floor, and the formula shows the median
    # of the floors.
    slow = {"amqp": dict(FLOOR["amqp"], cpu_ms=1.0), "http": dict(FLOOR["http"], cpu_ms=4.0)}
    runs = [dict(_bench_run("orch", 40.0), floor=FLOOR), dict(_bench_run("orch", 64.0), floor=slow),
            dict(_bench_run("orch", 48.0), floor=FLOOR)]
    middle = floor.median(run["floor"] for run in runs)
    assert middle == FLOOR and floor.median([]) is None
    table = bench_report.console(runs, middle)
    # 40/16, 64/32, 48/16: x2.5, x2.0, x3.0; against one floor the slow run would read x4.0
    assert ("| sqlite | orch | 48.0 (40.0-64.0) | 0 x 0.50 + 8 x 2.00 = 16.0 | x2.5 its floor "
            "(x2.0-x3.0) |") in table
    made = record.bench_figures(runs, middle)["sqlite/orch"]
    assert made["floor_multiple"] == {"median": 2.5, "low": 2.0, "high": 3.0}
    assert made["floor_cpu_ms"] == 16.0
    assert record.bench_figures(runs, middle)["floor_cpu_ms_by_run"] == {
        "amqp": {"median": 0.5, "low": 0.5, "high": 1.0},
        "http": {"median": 2.0, "low": 2.0, "high": 4.0}}
    older = [_bench_run("orch", 40.0)]  # a runs.json from before: the bench's one floor
    made = record.bench_figures(older, FLOOR)
    assert made["sqlite/orch"]["floor_multiple"]["median"] == 2.5
    assert "floor_cpu_ms_by_run" not in made


def test_the_median_floor_takes_each_figure_apart():
    fast = {"amqp": {"cpu_ms": 0.6, "per_s": 1500}, "http": {"cpu_ms": 1.0, "per_s": 900}}
    slow = {"amqp": {"cpu_ms": 1.0, "per_s": 1000}, "http": {"cpu_ms": 2.0, "per_s": 500}}
    middle = {"amqp": {"cpu_ms": 0.7, "per_s": 1400}, "http": {"cpu_ms": 1.9, "per_s": 800}}
    assert floor.median([fast, slow, middle]) == {
        "amqp": {"cpu_ms": 0.7, "per_s": 1400}, "http": {"cpu_ms": 1.9, "per_s": 800}}


class _Process:
    """A far-end process for the floor's CPU reading; gone=True: it has exited (psutil raises)."""

    def __init__(self, pid, seconds, gone=False):
        self.pid, self.seconds, self.gone = pid, seconds, gone

    def cpu_times(self):
        if self.gone:
            raise psutil.NoSuchProcess(self.pid)
        return (self.seconds, 0.0)


def test_the_floor_counts_the_far_end_processes_it_saw_at_both_readings():
    # the broker's helpers (inet_gethost) come and go: one that exits during the round trips
    # must neither stop the floor (seen in a bench) nor count its CPU at one end only
    before = floor._cpu_s([_Process(1, 10.0), _Process(2, 1.0), _Process(3, 5.0, gone=True)])
    after = floor._cpu_s([_Process(1, 10.5), _Process(2, 1.0, gone=True), _Process(4, 0.25)])
    assert before[1] == {1: 10.0, 2: 1.0}
    client, far_end = floor._spent(before, after)
    assert far_end == 0.5 and client >= 0


def test_the_harness_knows_three_variants_and_what_each_runs():
    assert variant.NAMES == ("choreo", "orch", "orch-amqp")
    assert [variant.style(v) for v in variant.NAMES] == ["choreo", "orch", "orch"]
    assert [variant.uses_broker(v) for v in variant.NAMES] == [True, False, True]
    assert set(floor.PATHS) == set(variant.NAMES) == set(charts.COLOURS)
    amqp = variant.Variant("orch-amqp", "/tmp/var", "/tmp/runner.log", port_offset=100,
                           amqp_url="amqp://x")
    assert amqp.env["ORCH_TRANSPORT"] == "amqp" and amqp.env["AMQP_URL"] == "amqp://x"
    assert amqp.env["VARIANT"] == "orch" and amqp.url("orders") == "http://127.0.0.1:8102"
    assert variant.Variant("orch", "/tmp/var", "/tmp/l").env["ORCH_TRANSPORT"] == "http"
    assert "payments.commands" in variant.queues("orch-amqp", replicas=2)
    assert "orchestrator-1.replies" in variant.queues("orch-amqp", replicas=2)
    assert variant.queues("orch") == ()
    with pytest.raises(SystemExit, match="choose from choreo, orch, orch-amqp"):
        variant.kind("orch-grpc")


def test_every_variant_is_run_by_default_and_orch_amqp_gets_the_orchestrated_facts(monkeypatch):
    monkeypatch.delenv("BENCH_VARIANTS", raising=False)
    assert bench.settings()["variants"] == ["choreo", "orch", "orch-amqp"]
    assert load_cli.parse(["demo"]).variant is None and load_cli.VARIANTS == variant.NAMES
    monkeypatch.setenv("BENCH_VARIANTS", "orch-amqp")
    assert bench.settings()["variants"] == ["orch-amqp"]
    assert scenarios.PAYMENTS_PROGRAM[variant.style("orch-amqp")] == "payments-api"
    assert scaling.REPLICATED[variant.style("orch-amqp")][0] == "orchestrator replicas"
    monkeypatch.setenv("CONSUMER_THREADS", "3")
    assert run.concurrency("orch-amqp", {})["per_service"] == 3  # its command consumers
    assert run.concurrency("orch", {})["per_service"] != 3       # its request threads
    header, rows, _ = bench_report.budget(["orch-amqp"])
    assert ["orch-amqp", "broker", "1", "-", "RabbitMQ, one node for the whole run"] in rows
    assert any(r[1] == "payments-api" and "3 command consumers" in r[3] for r in rows)
    # the choreographed orders API takes no commands: only orch-amqp's services have consumers
    _, choreo_rows, _ = bench_report.budget(["choreo"])
    assert not any("command consumers" in r[3] for r in choreo_rows)


def test_a_run_that_placed_no_order_fails_its_audit(tmp_path):
    log_path = tmp_path / "locust.log"
    assert run._placed_some(True, "passed\n", {"COMPLETED": 3}, log_path) == (
        True, "passed\n", {"COMPLETED": 3})
    ok, text, _ = run._placed_some(True, "passed\n", {}, log_path)  # every user crashed
    assert ok is False and "placed no order" in text and str(log_path) in text


def test_the_summary_chart_draws_the_median_peak_of_the_runs_as_the_table_shows_it(
        tmp_path, monkeypatch):
    drawn = []

    class Axes:
        def bar(self, xs, heights, *args, **kwargs):
            drawn.append(list(heights))

        def __getattr__(self, name):
            return lambda *args, **kwargs: None
    figure = type("Figure", (), {"tight_layout": lambda self: None,
                                 "savefig": lambda self, *args, **kwargs: None})()
    monkeypatch.setattr(charts.plt, "subplots", lambda *args, **kwargs: (figure, [Axes(), Axes()]))
    monkeypatch.setattr(charts.plt, "close", lambda *args: None)
    # the run with the median finished/s (the summary's own figures) had the highest peak
    runs = [{"peak_per_s": p, "finished_per_s": f} for p, f in ((152.4, 108.3), (132.6, 105.7),
                                                                 (136.8, 109.5))]
    median_run = {"scenario": "steady", "variant": "choreo", "final": {95: 2300}, **runs[0],
                  "repeats": runs}
    charts.summary_chart([median_run], tmp_path / "summary.png")
    assert drawn[0] == [136.8]


def test_the_replicas_are_balanced_once_each_leases_its_share_of_every_shard():
    def leases(*owners):
        return [{"shard": i, "owner": o} for i, o in enumerate(owners)]
    a, b = "orchestrator-0@host", "orchestrator-1@host"
    assert variant.balanced(leases(a, a, a, a, b, b, b, b), 2)
    assert not variant.balanced(leases(a, a, a, a, a, a, a, a), 2)  # the first took them all
    assert not variant.balanced(leases(a, a, a, a, a, b, b, b), 2)  # one over its share
    assert not variant.balanced(leases(a, a, a, a, b, b, b, None), 2)  # a shard unleased
    assert not variant.balanced([], 2)  # no answer from GET /shards
    four = [f"orchestrator-{i}@host" for i in range(4)]
    assert variant.balanced(leases(*four, *four), 4)
    assert not variant.balanced(leases(*four[:3], *four[:3], four[0], four[1]), 4)
