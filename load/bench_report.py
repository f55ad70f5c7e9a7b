"""The bench's report: each figure as the median of the runs, with its spread (lowest-highest).

Plumbing for load/bench.py. A figure's spread tells how far to trust a difference: two medians
whose spreads overlap are within noise. With one run there is no spread ("one run").
"""
import statistics

from load import budgets as cpu_budgets
from load import floor as floor_mod
from load import logged
from load.document import cell
from load.variant import kind, style, uses_broker
from runner import processes
from shared.runtime import config

# Issue 10's targets on a 2-core machine, SQLite; PostgreSQL: 0.6 of SQLite's throughput.
TARGETS = {"choreo": (90, 18), "orch": (50, 30)}
PG_SHARE = 0.6
QUEUES_EMPTY_S = 5
HALF_RATE_POST_P99_MS = 50  # choreo: POST /orders p99 at half the drain's rate


def _within(seconds):
    return seconds <= QUEUES_EMPTY_S


def groups(runs):
    """Return {(db, variant): [runs]} in the order they ran."""
    grouped = {}
    for run in runs:
        grouped.setdefault((run["db"], run["variant"]), []).append(run)
    return grouped


def services_cpu(run):
    """Return a run's CPU-ms per order of every process but the client (services, broker, db)."""
    return sum(run["cpu_ms"].values())


def spread(values, digits=1):
    """Return `median (lowest-highest)`, or `value (one run)`; '-' when there is none."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    median = round(statistics.median(values), digits)
    if len(values) == 1:
        return f"{median} (one run)"
    return f"{median} ({round(min(values), digits)}-{round(max(values), digits)})"


def _ms(runs, key, cut):
    return spread([r[key][cut] for r in runs], 0)


def console(runs, floor=None):
    """Return the summary table and the floor's for the terminal (the same as bench.md's)."""
    return _summary(runs) + "\n" + against_floor(runs, floor)


def markdown(runs, chosen, failed, machine, stolen, floor=None):
    """Return bench.md: machine, settings, summary, the floor, targets, CPU per process, how to
    read it. `stolen` is the share of CPU time the hypervisor gave to other machines during the
    runs; `floor` what load/floor.py measured before them (None: not measured)."""
    parts = [f"# Drain benchmark\n\n{machine}\n",
             f"CPU time stolen by the hypervisor during the runs: {stolen:.0%} (on a virtual "
             "machine, other machines' work; above a few percent, expect slower runs and a "
             "wider spread).\n",
             f"{chosen['warmup']} warm-up orders, then {chosen['orders']} orders from "
             f"{chosen['threads']} client threads (7/10 completed, 1/10 of each failure), "
             f"{chosen['runs']} run(s) of each; each figure is the median of the runs with the "
             "lowest and highest in brackets.\n", _summary(runs), against_floor(runs, floor),
             _targets(runs), _logged_errors(runs),
             _per_process(runs), _budget(chosen["variants"]), _cpu_budgets(runs), _legend()]
    if failed:
        parts.append("Runs that failed (see their runner.log): " + ", ".join(failed) + "\n")
    return "\n".join(parts)


def _summary(runs):
    rows = ["| db | variant | finished orders/s | CPU-ms per order (services) | client CPU-ms "
            "per order | POST p50 / p99 ms | POST p50 / p99 ms at half rate | completion p50 / "
            "p99 ms | queues empty after s | 429s retried | final statuses (last run) |",
            "|" + "---|" * 11]
    for (db, variant), group in groups(runs).items():
        rows.append(f"| {db} | {variant} | {spread([r['orders_per_s'] for r in group])} | "
                    f"{spread([services_cpu(r) for r in group])} | "
                    f"{spread([r['client_cpu_ms'] for r in group])} | "
                    f"{_ms(group, 'post_ms', 'p50')} / {_ms(group, 'post_ms', 'p99')} | "
                    f"{_half_rate(group, 'p50')} / {_half_rate(group, 'p99')} | "
                    f"{_ms(group, 'completion_ms', 'p50')} / "
                    f"{_ms(group, 'completion_ms', 'p99')} | {_queues(variant, group)} | "
                    f"{spread([r['shed_429'] for r in group], 0)} | "
                    f"{_statuses(group[-1])} |")
    return "## Summary\n\n" + "\n".join(rows) + "\n"


def against_floor(runs, floor):
    """Return each (db, variant)'s CPU-ms per order beside its transports' floor (load/floor.py
    PATHS: hops x an AMQP round trip's CPU + HTTP round trips x an HTTP one's), and the ratio:
    each run's against the floor measured just before it (`floor`, the median of those, for
    the formula; an older run without a floor of its own is taken against `floor`)."""
    if not floor or floor_mod.order_cpu_ms(floor, "orch") is None:
        return "## Against the floor\n\nNo floor was measured with this bench.\n"
    rows = ["| db | variant | CPU-ms per order (services) | its floor: hops x AMQP + HTTP round "
            "trips x HTTP = CPU-ms | multiple |", "|---|---|---|---|---|"]
    for (db, variant), group in groups(runs).items():
        least = floor_mod.order_cpu_ms(floor, variant)
        cpu = [services_cpu(r) for r in group]
        if least is None:  # a variant PATHS does not know (an older runs.json)
            rows.append(f"| {db} | {variant} | {spread(cpu)} | - | - |")
            continue
        hops, calls = floor_mod.PATHS[variant]
        rows.append(f"| {db} | {variant} | {spread(cpu)} | {hops} x "
                    f"{floor['amqp']['cpu_ms']:.2f} + {calls} x {floor['http']['cpu_ms']:.2f} = "
                    f"{least:.1f} | {multiple(ratios(group, variant, floor))} |")
    return ("## Against the floor (CPU-ms per order as a multiple of its transports alone)\n\n"
            + "\n".join(rows) + "\n\n" + _floor_note() + "\n")


def ratios(group, variant, floor):
    """Return each run's CPU-ms per order divided by its own floor (else by `floor`)."""
    return [services_cpu(r) / floor_mod.order_cpu_ms(r.get("floor") or floor, variant)
            for r in group]


def multiple(ratios):
    """Return `x2.4 its floor`, with the runs' lowest and highest when there are several."""
    middle = f"x{statistics.median(ratios):.1f} its floor"
    if len(ratios) < 2:
        return middle
    return f"{middle} (x{min(ratios):.1f}-x{max(ratios):.1f})"


def _floor_note():
    return ("The floor was measured before each run (`make bench-floor` measures the same), "
            "and each run's multiple is its CPU against that floor; the formula shows the median "
            "of the runs' floors (Trade-off 87). Each path counts every step of a completed "
            "order through the customer's notification: choreo 6 events + POST /orders; orch "
            "POST /orders, POST /sagas and 6 step calls; orch-amqp the same two requests, then "
            "6 commands and 6 replies. "
            "(Issue 25 counted 5 hops + 1 request, 8 round trips, and 8 commands + 8 replies: "
            "its choreographed path stopped at COMPLETED, and the saga has 6 steps, not 8; "
            "load/floor.py PATHS says why.) What is above x1 is the work: the transactions, the "
            "outbox relays, the saga log, Python and JSON.")


def _half_rate(group, cut):
    return spread([(r.get("half_rate") or {}).get("post_ms", {}).get(cut) for r in group], 0)


def _queues(variant, group):
    return spread([r["queues_empty_s"] for r in group]) if uses_broker(variant) else "no queues"


def _statuses(run):
    """Return e.g. `COMPLETED 1050, CANCELLED 450` (and POSTs that failed, if any)."""
    text = ", ".join(f"{k} {v}" for k, v in sorted(run["statuses"].items()))
    return text + (f"; {run['post_errors']} POSTs failed" if run["post_errors"] else "")


def _targets(runs):
    grouped, rows = groups(runs), ["| db | variant | target | median | verdict |",
                                   "|---|---|---|---|---|"]
    for (db, variant), group in grouped.items():
        rate = [r["orders_per_s"] for r in group]
        if db == "sqlite" and variant in TARGETS:
            least, most = TARGETS[variant]
            cpu = [services_cpu(r) for r in group]
            rows.append(f"| {db} | {variant} | >= {least} orders/s | {spread(rate)} | "
                        f"{_verdict(rate, lambda v: v >= least)} |")
            rows.append(f"| {db} | {variant} | <= {most} CPU-ms per order | {spread(cpu)} | "
                        f"{_verdict(cpu, lambda v: v <= most)} |")
            if variant == "choreo":
                empty = [r["queues_empty_s"] for r in group]  # None: not within 30 s
                late = [float("inf") if e is None else e for e in empty]
                shown = spread(empty) if any(e is not None for e in empty) else "not in 30 s"
                rows.append(f"| {db} | {variant} | every queue empty <= {QUEUES_EMPTY_S} s "
                            f"after the drain | {shown} | {_verdict(late, _within)} |")
                p99 = [r["half_rate"]["post_ms"]["p99"] for r in group if r.get("half_rate")]
                if p99:
                    rows.append(f"| {db} | {variant} | POST p99 <= {HALF_RATE_POST_P99_MS} ms at "
                                f"half the drain's rate | {spread(p99, 0)} ms | "
                                f"{_verdict(p99, lambda v: v <= HALF_RATE_POST_P99_MS)} |")
        elif ("sqlite", variant) in grouped:
            base = statistics.median(r["orders_per_s"] for r in grouped[("sqlite", variant)])
            share = [v / base for v in rate]
            rows.append(f"| {db} | {variant} | >= {PG_SHARE} of SQLite's orders/s | "
                        f"{spread(share, 2)} | {_verdict(share, lambda v: v >= PG_SHARE)} |")
    return "## Targets (issue 10)\n\n" + "\n".join(rows) + "\n"


def _logged_errors(runs):
    """The ERROR and WARNING lines each run's programs logged, by message (load/logged.py);
    nothing for runs measured before the bench read them."""
    if not any("logged_errors" in run for run in runs):
        return ""
    rows = [f"| {variant} | {db} | {number} | {level} | {count} | {cell(message[:200])} |"
            for (db, variant), group in groups(runs).items()
            for number, run in enumerate(group, 1)
            for level, count, message in logged.table_lines(run)]
    title = "## Errors and warnings the programs logged\n\n"
    if not rows:
        return title + "None: no program logged an ERROR or a WARNING line.\n"
    return (title + "The ERROR and WARNING lines of each run's runner.log, counted by "
            "message: work that failed and was tried again, or that a program gave up "
            "waiting for, which the figures above include.\n\n"
            "| variant | db | run | level | lines | message |\n|---|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n")


def _verdict(values, holds):
    """Return whether a target holds in every run, in the median only, or not."""
    if all(holds(v) for v in values):
        return "met in every run" if len(values) > 1 else "met (one run)"
    return "met by the median only" if holds(statistics.median(values)) else "not met"


def _per_process(runs):
    grouped = groups(runs)
    names = sorted({who for run in runs for who in run["cpu_ms"]})
    head = "| process | " + " | ".join(f"{v} ({db})" for db, v in grouped) + " |"
    rows = [head, "|---|" + "---|" * len(grouped)]
    for who in names:
        rows.append(f"| {who} | " + " | ".join(
            spread([r["cpu_ms"].get(who) for r in g]) for g in grouped.values()) + " |")
    rows.append("| **services (sum)** | " + " | ".join(
        spread([services_cpu(r) for r in g]) for g in grouped.values()) + " |")
    rows.append("| client (apart) | " + " | ".join(
        spread([r["client_cpu_ms"] for r in g]) for g in grouped.values()) + " |")
    return ("## Where the CPU goes: CPU-ms per order of each process\n\n"
            + "\n".join(rows) + "\n")


def budget(variants):
    """Return (header, rows, note): each program's processes and threads, read from the runner's
    process table, for the bench's report and make demo's."""
    header, rows = ["variant", "program", "processes", "threads each", "settings"], []
    for variant in variants:
        for program in processes.programs(style(variant)):
            settings = ", ".join(f"{k}={v}" for k, v in {**kind(variant).env,
                                                         **program.environment}.items()
                                 if not v.startswith("%("))
            rows.append([variant, program.name, str(int(program.option("--workers", 1)) * program.numprocs),
                         _threads(variant, program), settings or "-"])
        if uses_broker(variant):
            rows.append([variant, "broker", "1", "-", "RabbitMQ, one node for the whole run"])
    return header, rows, _budget_note()


def _threads(variant, program):
    """Return what works at once in one process of a program: a worker's consumers, an API's
    request threads, and over AMQP a service API's command consumers beside them."""
    threads = program.option("--threads")
    if threads is None:  # a worker: its consumers, each a thread
        return (f"{config.consumer_threads()} consumers per queue, each applying a batch of up "
                f"to {config.prefetch_count()} messages (PREFETCH_COUNT) at a time")
    if variant == "orch-amqp" and not program.name.startswith("orchestrator"):
        where = " in one of its workers" if int(program.option("--workers", 1)) > 1 else ""
        return (f"{threads} for requests; {config.consumer_threads()} command consumers{where}"
                + (" (Trade-off 85)" if where else ""))
    return threads


def _budget_note():
    """Return the sentences under the budget table: the one setting, and what is outside it."""
    override = ("" if config.consumer_threads() == config.concurrency() else
                f" (this run: CONSUMER_THREADS={config.consumer_threads()} overrode it for the "
                "choreographed consumers)")
    return (f"CONCURRENCY ({config.concurrency()}) is how many units of work each service "
            "handles at once, in every variant: an orchestrated service's request threads, a "
            f"choreographed worker's consumers per queue{override}. Outside it: the "
            "orders APIs, sized for the customers; the orchestrator, which also drives up to "
            f"ORCH_MAX_IN_FLIGHT ({config.orch_max_in_flight()}) sagas on threads of its own; "
            "a choreographed worker's outbox relay; and the orders worker's tracker queue, "
            "bookkeeping with a few consumers taking many events each (TRACKER_CONSUMERS, "
            f"TRACKER_PREFETCH, Trade-off 50). The workers run {config.worker_nice()} steps "
            "below the APIs' CPU priority (WORKER_NICE, Trade-off 55). Over AMQP (orch-amqp) "
            "an orchestrated service's work arrives as commands, taken by its command "
            f"consumers ({config.consumer_threads()}, CONSUMER_THREADS), not by its request "
            "threads.")


def _budget(variants):
    header, rows, note = budget(variants)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return ("## Concurrency budget per service (from runner/processes.py)\n\n"
            + "\n".join(lines) + "\n\n" + note + "\n")


def _cpu_budgets(runs):
    """Return each run's CPU budget table: what each program was allowed, used and throttled."""
    parts = ["## CPU budget per program, each run (runner/budgets.py)\n"]
    seen = {}
    for run in runs:
        budget, key = run.get("budget"), (run["variant"], run["db"])
        seen[key] = number = seen.get(key, 0) + 1
        if not budget:
            continue
        lines = ["| " + " | ".join(cpu_budgets.HEADER) + " |",
                 "|" + "---|" * len(cpu_budgets.HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in cpu_budgets.table_rows(budget)]
        parts.append(f"### {run['variant']} on {run['db']}, run {number}\n\n"
                     f"{cpu_budgets.mode_line(budget)}\n\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


def _legend():
    return """## What each figure is

- **finished orders/s**: measured orders divided by the seconds from the first POST until no
  order is PENDING (the drain), not a peak rate.
- **CPU-ms per order (services)**: user+system CPU of every service process (with its gunicorn
  workers), the broker and PostgreSQL during the drain, divided by the orders.
- **client CPU-ms per order**: the load generator's own CPU (this process), reported apart.
- **POST p50 / p99**: time until `POST /orders` answered, over all measured orders of one run.
- **POST p50 / p99 at half rate**: the same, for orders sent at half the run's finished
  orders/s for BENCH_PACED_S seconds after the drain, each at its own moment (an open loop):
  what a customer waits when the system is busy but not saturated.
- **completion p50 / p99**: time from sending the first POST until the order's final status was
  stored (its `updated_at`), over all measured orders of one run.
- **429s retried**: how often the client was told to come back later (load shed) and sent the
  same order again after Retry-After; the POST times are those of the accepted attempt.
- **queues empty after s**: seconds after the drain until every queue, the tracker's included,
  is empty (choreo only).
- **CPU budget per program**: the quota each program ran under (cores, BUDGET_CORES and
  its siblings), the cores it used during the drain (CPU seconds / drain seconds), that as a
  share of its budget, and the share of 100 ms periods in which the kernel stopped it for
  having used its quota (throttled); "saturated" marks a program short of CPU.
- **median (lowest-highest)**: over the runs; a difference smaller than the spread is noise.
"""
