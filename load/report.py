"""Write reports/<timestamp>/report.md and report.html from the runs, and the summary table.

The summary table (one row per scenario and variant) is also what `make demo` prints and what
docs/results.md shows, labelled with the machine and date it was measured on.
"""
import datetime
import os
import platform

import psutil

from load import bench_report, budgets, charts, claims, floor as floor_mod, logged, results, spread
from load.document import markdown, to_html

HEADER = ["scenario", "variant", "orders", "finished/s", "peak/s (users)", "POST p50/p95/p99 ms",
          "completion p50/p95/p99 ms", "errors", "429 shed", "CPU ms/order",
          "client CPU ms/order", "audit"]


def machine():
    """Return one line naming the machine: CPU model, cores, RAM, OS, date, load average."""
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    os_name = next((line.split("=", 1)[1].strip().strip('"') for line in open("/etc/os-release")
                    if line.startswith("PRETTY_NAME=")), platform.system())
    return (f"{model}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB "
            f"RAM, {os_name} (Linux {platform.release()}), "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, load average "
            f"before the runs {os.getloadavg()[0]:.1f}")


def _triple(values):
    return "/".join("-" if values[p] is None else f"{values[p]:.0f}" for p in (50, 95, 99))


def table_rows(summaries):
    """Return the summary table's rows."""
    return [[s["scenario"], s["variant"], sum(s["orders"].values()),
             spread.text(s, "finished_per_s"),
             f"{spread.text(s, 'peak_per_s')} ({s['peak_users']})", _triple(s["post"]),
             _triple(s["final"]), s["errors"], s["shed"],
             "-" if s["cpu_ms_per_order"] is None else f"{s['cpu_ms_per_order']:.0f}",
             _client_ms(s), "pass" if s["audit_ok"] else "FAIL"] for s in summaries]


def _runs_note(summaries):
    """Say how many runs each figure comes from, and how to read finished/s and peak/s."""
    count = max((len(s.get("repeats") or [s]) for s in summaries), default=1)
    runs = ("One run each: there is no spread, so a verdict comparing two figures says "
            "\"one run\" (DEMO_RUNS=3 repeats each)." if count == 1 else
            f"{count} runs each: finished/s and peak/s are the median (lowest-highest); the "
            "other figures are those of the median run.")
    return (runs + " finished/s: orders finished over the whole run; peak/s: the best "
            "5-second window; latencies: over the whole run; CPU: per finished order, the "
            "system's and, apart, the load generator's.")


def _client_ms(summary):
    """Return the load generator's (Locust's) CPU-ms per order, reported apart from the system's."""
    orders = sum(summary["orders"].values())
    return f"{summary['locust_cpu_s'] * 1000 / orders:.1f}" if orders else "-"


def console_table(summaries, machine_line):
    """Return the summary table as aligned text for the terminal."""
    rows = [HEADER] + [[str(c) for c in r] for r in table_rows(summaries)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    text = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join([f"measured on: {machine_line}"] + text)


def floor_blocks(floor, summaries):
    """Return the floor section: each transport's round trip, and each variant against it."""
    if not floor:
        return []
    rows = [[k, f"{v['p50_ms']:.2f}", f"{v['p99_ms']:.2f}", f"{v['per_s']:.0f}",
             f"{v['cpu_ms']:.2f}" if "cpu_ms" in v else "-"] for k, v in floor.items()]
    lines = []
    for variant, (hops, calls) in floor_mod.PATHS.items():  # each step through the notification
        least = hops * floor["amqp"]["p50_ms"] + calls * floor["http"]["p50_ms"]
        light = [s for s in summaries if s["variant"] == variant and s["scenario"] == "steady"]
        seen = light[0]["final"][50] if light and light[0]["final"][50] else None
        lines.append(f"- {variant}: {hops} message hops + {calls} HTTP round trip(s) for a "
                     f"completed order = {least:.1f} ms of bare transport; completion p50 over the "
                     f"steady ramp (mostly past saturation: queueing, not transport) "
                     f"{'-' if seen is None else f'{seen:.0f}'} ms"
                     + (f" ({seen / least:.0f}x the floor)." if seen else "."))
        cpu = floor_mod.order_cpu_ms(floor, variant)
        if cpu is not None:
            lines.append(f"- {variant}: the same transports cost {cpu:.1f} CPU-ms per order "
                         f"(both ends of each round trip), before any work is done in them.")
    return [("h2", "Floor: what the transports allow on this machine"),
            ("table", ["transport (one in flight)", "p50 ms", "p99 ms", "round trips/s",
                       "CPU-ms per round trip (both ends)"], rows),
            ("p", "\n".join(lines)),
            ("p", "Each step is counted through the customer's notification, in every variant "
                  "alike (load/floor.py PATHS). The rest is the work: a SQLite transaction per "
                  "step, the outbox relay's polling (choreo, and orch-amqp's commands and "
                  "replies), the saga log writes (orch, orch-amqp), Python and JSON, and "
                  "queueing for the same 2 cores under load.")]


def scenario_blocks(name, runs, folder):
    """Return one scenario's section: its chart, CPU per service, audits and Locust's files."""
    path = f"charts/{name}.png"
    charts.scenario_chart(name, runs, folder / path)
    blocks = [("h2", f"Scenario: {name}"), ("img", path, f"{name}: both variants")]
    for variant, (run_folder, s) in runs.items():
        rel = run_folder.relative_to(folder)
        cpu = results.cpu_by_service(s["cpu_s"])
        blocks += [("h3", f"{name} / {variant}"),
                   ("p", f"{s['users']} users, {s['seconds']} s, {s['replicas']} replica(s), "
                         f"settings {s['env'] or 'none'}; quiet {s['drained_s']:.0f} s after the "
                         f"load; {s['asks_per_order']:.2f} requests for outcomes (POST "
                         f"/orders/outcomes?wait) per order; Locust used {s['locust_cpu_s']:.1f} CPU s. Locust's "
                         f"[HTML report]({rel}/locust.html) and [CSV]({rel}/locust_stats.csv), "
                         f"the Sagas tab's table [as CSV]({rel}/locust_sagas.csv); "
                         f"samples in `{rel}/`."),
                   ("table", ["process", "CPU s", "CPU ms/order"],
                    [[k, f"{v:.1f}", f"{v * 1000 / max(sum(s['orders'].values()), 1):.1f}"]
                     for k, v in sorted(cpu.items())]),
                   *budget_blocks(s.get("budget")),
                   ("pre", s["audit"])]
    return blocks


def logged_blocks(summaries):
    """Return the section of the ERROR and WARNING lines the programs logged in each run
    (load/logged.py), by message."""
    rows = [[s["scenario"], s["variant"], number, level, count, message[:200]]
            for s in summaries
            for number, repeat in enumerate(s.get("repeats") or [s], 1)
            for level, count, message in logged.table_lines(repeat)]
    title = "Errors and warnings the programs logged"
    if not rows:
        return [("h2", title), ("p", "None: no program logged an ERROR or a WARNING line in "
                                     "any run.")]
    return [("h2", title),
            ("p", "The ERROR and WARNING lines of each run's runner.log, counted by message. "
                  "The faults the scenarios inject are not among them (a step that meets a "
                  "stopped or slow payments is logged as a step's outcome). An error is work "
                  "that failed and was tried again, which the figures above include, or a "
                  "defect; a warning is something a program gave up waiting for or will try "
                  "again, such as the orders API answering 202 because the orchestrator did "
                  "not answer POST /sagas in time. The audit says whether an order was lost."),
            ("table", ["scenario", "variant", "run", "level", "lines", "message"], rows)]


def budget_blocks(budget):
    """Return a run's CPU budget line and table (none for a run recorded before budgets)."""
    if not budget:
        return []
    return [("p", budgets.mode_line(budget) + " Used: cores over the load, from the start of "
                  "Locust until the variant was quiet; saturated: used >= 90 % of the budget "
                  "or throttled in >= 20 % of the periods."),
            ("table", budgets.HEADER, budgets.table_rows(budget))]


def write(folder, runs, folders, floor, machine_line):
    """Write report.md, report.html and the charts into `folder`; return the summaries."""
    (folder / "charts").mkdir(parents=True, exist_ok=True)
    summaries = list(runs.values())
    charts.summary_chart(summaries, folder / "charts" / "summary.png")
    blocks = [("h1", "Choreography vs orchestration: load test report"),
              ("p", f"Measured on: {machine_line}. Each scenario ran against each variant in "
                    "turn, on fresh data, with the same Locust user (load/locustfile.py). "
                    + _runs_note(summaries)),
              ("table", HEADER, table_rows(summaries)), ("img", "charts/summary.png", "summary"),
              ("h2", "What the numbers say about the article's claims")]
    for part in (claims.c5_outage(runs, folders), claims.c8_slow_dependency(runs),
                 claims.c9_regulation(runs), claims.c10_scale_out(runs)):
        blocks += part
    blocks += floor_blocks(floor, summaries)
    header, rows, note = bench_report.budget(dict.fromkeys(v for _, v in runs))
    blocks += [("h2", "Concurrency budget per service (from runner/processes.py)"),
               ("p", "The same in every variant, so that a difference is one of style, not of "
                     "thread counts. " + note), ("table", header, rows)]
    blocks += logged_blocks(summaries)
    for name in dict.fromkeys(s for s, _ in runs):
        blocks += scenario_blocks(name, {v: (folders[(n, v)], runs[(n, v)])
                                         for n, v in runs if n == name}, folder)
    (folder / "report.md").write_text(markdown(blocks))
    (folder / "report.html").write_text(to_html(blocks, "load test report"))
    return summaries
