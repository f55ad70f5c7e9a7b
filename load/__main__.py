"""Command line of the load harness.

    python -m load demo [--scale 0.5 | --seconds 20] [--scenario steady] [--variant orch-amqp]
                        (DEMO_RUNS=3: every run three times, figures as median and spread)
                        (BUDGET=auto by default: a CPU budget per program where cgroups allow)
    python -m load floor
    python -m load bench      (the drain benchmark of load/bench.py; BENCH_* settings;
                               BUDGET=off by default: see load/bench.py)
    python -m load report reports/<timestamp>           (write an earlier run's report again)
    python -m load publish reports/<folder> [--name <name>]   (its record to docs/runs/<name>.json)
                       [--commit <sha>]   (a report without a record, run in a checkout of <sha>)

`demo` (what `make demo` runs) starts each variant in turn through the runner (choreo, orch,
orch-amqp: load/variant.py), runs every
scenario (load/scenarios.py), audits after each run and writes reports/<timestamp>/. The run
length scales with DEMO_SCALE (default 1: about 10 minutes on 2 cores) or --scale / --seconds.
"""
import argparse
import datetime
import json
import os
import sys
import time
import traceback
from pathlib import Path

from load import bench, floor, record, report, results, run, scenarios, spread
from load.budgets import Harness
from load.variant import NAMES as VARIANTS
from load.variant import ROOT, uses_broker
from runner.broker import Broker
from shared.runtime import config


def parse(argv):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(prog="python -m load")
    parser.add_argument("command", choices=("demo", "floor", "report", "bench", "publish"))
    parser.add_argument("report", nargs="?", type=Path,
                        help="publish and report: the report folder (report: or --out)")
    parser.add_argument("--name", help="publish: the record's name (default the folder's)")
    parser.add_argument("--commit", help="publish: the commit a report without a record ran "
                        "in a checkout of its own (default: inferred from its date)")
    parser.add_argument("--scale", type=float, default=float(os.environ.get("DEMO_SCALE", 1)))
    parser.add_argument("--seconds", type=float, help="every scenario this long (outage scaled)")
    parser.add_argument("--scenario", action="append", help="only these scenarios")
    parser.add_argument("--variant", action="append", choices=VARIANTS, help="only these variants")
    parser.add_argument("--port-offset", type=int, default=0, help="move every port (tests)")
    parser.add_argument("--amqp-url", default=config.amqp_url())
    parser.add_argument("--out", type=Path, help="report folder (default reports/<timestamp>)")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor benchmark")
    return parser.parse_args(argv)


def log(line):
    """Print a progress line at once."""
    print(line, flush=True)


def demo(args):
    """Run every chosen scenario on every chosen variant; write the report; return an exit code."""
    chosen = scenarios.chosen(args.scenario, args.scale)
    if args.seconds:
        chosen = [scenarios.scaled(s, args.seconds / s.seconds) for s in chosen]
    out = args.out or ROOT / "reports" / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    machine_line, variants = report.machine(), args.variant or VARIANTS
    ran = record.commit()  # the code this demo runs, whatever is committed while it does
    log(f"load demo: {len(chosen)} scenario(s) x {len(variants)} variant(s), "
        f"{sum(s.seconds for s in chosen) * len(variants):.0f} s of load; report in {out}")
    started, harness = time.monotonic(), Harness()
    log(f"CPU budgets: {harness.budgets.mode if harness.budgets else 'off'}"
        + (f" ({harness.reason})" if harness.reason else ""))
    try:
        return _demo_runs(args, chosen, variants, out, machine_line, started, harness, ran)
    finally:
        harness.remove()  # Locust's group, and the broker's, once both are gone


def _demo_runs(args, chosen, variants, out, machine_line, started, harness, ran):
    """Run the floor and every (scenario, variant); write the report; return an exit code."""
    floor_numbers, runs, folders, failed = None, {}, {}, []
    with _broker(args.amqp_url, harness):
        if not args.no_floor:
            log("== floor: bare transports ...")
            floor_numbers = floor.measure(args.amqp_url)
            log(f"   {json.dumps(floor_numbers)}")
            out.mkdir(parents=True, exist_ok=True)
            (out / "floor.json").write_text(json.dumps(floor_numbers))
        for i, (scenario, variant) in enumerate([(s, v) for s in chosen for v in variants], 1):
            log(f"== [{i}/{len(chosen) * len(variants)}] {scenario.name} on {variant} "
                f"({time.monotonic() - started:.0f} s so far)")
            try:
                runs[(scenario.name, variant)], folders[(scenario.name, variant)] = _repeat(
                    args, scenario, variant, out / scenario.name / variant, harness)
            except Exception:  # one broken run must not lose the others' numbers
                failed.append(f"{scenario.name} on {variant}")
                log(traceback.format_exc())
    return _write_report(out, runs, folders, floor_numbers, machine_line, failed, started, ran)


def _repeat(args, scenario, variant, folder, harness=None):
    """Run a scenario DEMO_RUNS times; return the median run's summary (with every repeat's
    summary under "repeats") and its folder. One run keeps the folder of earlier reports."""
    count = int(os.environ.get("DEMO_RUNS", 1))
    done = []
    for number in range(1, count + 1):
        where = folder if count == 1 else folder / f"run-{number}"
        if count > 1:
            log(f"   run {number}/{count}")
        run.run(scenario, variant, where, args.port_offset,
                args.amqp_url if uses_broker(variant) else None, log, harness)
        done.append((results.summary(where), where))
    summary, where = done[spread.median_run([s for s, _ in done])]
    return {**summary, "repeats": [s for s, _ in done]}, where


def _write_report(out, runs, folders, floor_numbers, machine_line, failed=(), started=None,
                  ran=None):
    out.mkdir(parents=True, exist_ok=True)
    summaries = report.write(out, runs, folders, floor_numbers, machine_line)
    (out / "summary.json").write_text(json.dumps(summaries, indent=1, default=str))
    table = report.console_table(summaries, machine_line)
    (out / "summary.txt").write_text(table + "\n")
    figures = record.demo_figures(summaries, floor_numbers)
    if started:
        figures["took_s"] = round(time.monotonic() - started)  # the whole demo, start-ups too
    # a report written again (python -m load report) is of an earlier commit: inferred
    when = None if started else record.started_at(out.name)
    record.write(out, "demo", machine_line, record.demo_settings(summaries), figures, when, ran)
    took = f" ({time.monotonic() - started:.0f} s)" if started else ""
    log(f"\n{table}\n\nreport: {out / 'report.md'} and {out / 'report.html'}{took}")
    if failed:
        log(f"runs that failed: {', '.join(failed)}")
    return 1 if failed or not all(s["audit_ok"] for s in summaries) else 0


class _broker:
    """Start a RabbitMQ node for the whole demo when none answers (so it starts once), in its
    CPU budget when `harness` has budgets; stop it."""

    def __init__(self, amqp_url, harness=None):
        self.node = Broker(amqp_url, config.var_dir() / "rabbitmq")
        self.started, self.harness = False, harness

    def __enter__(self):
        if not self.node.answers():
            log(f"== starting RabbitMQ on port {self.node.port} ...")
            if self.harness:
                self.node.join = self.harness.join("broker", config.budget_broker_cores())
            self.node.start()
            self.started = True
        return self.node

    def __exit__(self, *exc):
        if self.started:
            self.node.stop()


def rewrite(folder):
    """Write the report of an earlier demo again from its files (after a change to load/report.py)."""
    done = {}
    for run_json in sorted(folder.glob("*/*/run.json")) + sorted(folder.glob("*/*/run-*/run.json")):
        facts = json.loads(run_json.read_text())
        done.setdefault((facts["scenario"], facts["variant"]), []).append(
            (results.summary(run_json.parent), run_json.parent))
    runs, folders = {}, {}
    for key, repeats in done.items():  # DEMO_RUNS=3: the median run, as `demo` chose it
        summary, folders[key] = repeats[spread.median_run([s for s, _ in repeats])]
        runs[key] = {**summary, "repeats": [s for s, _ in repeats]} if len(repeats) > 1 else summary
    runs = dict(sorted(runs.items(), key=lambda kv: (_place(kv[0][0]), kv[0][1])))
    floor_file = folder / "floor.json"
    floor_numbers = json.loads(floor_file.read_text()) if floor_file.exists() else None
    return _write_report(folder, runs, folders, floor_numbers, _machine_line(folder))


def _place(name):
    """Return a scenario's place in the report: today's order, an older report's own names
    (e.g. its single `scale-out`) after them."""
    order = [s.name for s in scenarios.SCENARIOS]
    return (order.index(name), "") if name in order else (len(order), name)


def _machine_line(folder):
    """Return the machine line of an earlier report, from its summary.txt if it has one."""
    try:
        return (folder / "summary.txt").read_text().splitlines()[0].split(": ", 1)[1]
    except (OSError, IndexError):
        return "not recorded (the report folder has no summary.txt)"


def floor_run(args):
    """Measure the floor (`make bench-floor`); print it and write reports/floor-<timestamp>/."""
    out = args.out or ROOT / "reports" / datetime.datetime.now().strftime("floor-%Y%m%d-%H%M%S")
    line, ran = report.machine(), record.commit()
    with _broker(args.amqp_url):
        numbers = floor.measure(args.amqp_url)
    out.mkdir(parents=True, exist_ok=True)
    (out / "floor.json").write_text(json.dumps(numbers, indent=1))
    record.write(out, "floor", line, {"round_trips": numbers["amqp"]["count"]},
                 {"floor": record.floor_figures(numbers)}, ran=ran)
    print(json.dumps(numbers, indent=1) + f"\nreport: {out}")
    return 0


def main(argv=None):
    """Run the command."""
    args = parse(argv)
    if args.command == "report":
        folder = args.out or args.report
        if folder is None or not folder.is_dir():
            sys.exit(f"python -m load report: name the folder of an earlier demo "
                     f"(reports/<timestamp>); got {folder}")
        return rewrite(folder)
    if args.command == "publish":
        print(f"record: {record.publish(args.report, args.name, args.commit)}")
        return 0
    if args.command == "floor":
        return floor_run(args)
    if args.command == "bench":
        bench.settings()  # an unknown BENCH_VARIANTS name stops here, before a broker starts
        harness = Harness(config.budget_mode(bench.BUDGET_DEFAULT))
        try:
            with _broker(args.amqp_url, harness):  # the floor's AMQP round trips need it
                return bench.bench(args.port_offset, args.amqp_url, args.out, log, harness)
        finally:
            harness.remove()
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
