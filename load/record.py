"""A run's record: the one place a published figure comes from.

Every run a doc quotes (`make demo`, `make bench`, `make bench-floor`, `make trace-cost`) writes,
beside its report, `record.json`: the machine (CPU model, cores), the date, the commit, the
settings and the figures, as data. `make publish-run REPORT=reports/<folder>` copies it to
docs/runs/<name>.json, the records the docs cite; `make figures` (ops/figures.py) renders every
figure in README.md and docs/ from them, and tests/unit/test_figures.py fails when a doc and
its record disagree. A report folder from before records (no record.json) is published the
same way: its record is built from the report's own files, its commit inferred from the
history (the last commit before the run started) and marked so.

    python -m load publish reports/<folder> [--name <name>]
"""
import datetime
import json
import re
import statistics
import subprocess

from load import bench_report
from load import floor as floor_mod
from load.variant import ROOT

RUNS = ROOT / "docs" / "runs"
MACHINE_LINE = re.compile(r"(?P<cpu>.+?), (?P<cores>\d+) cores, (?P<memory_gib>\d+) GiB RAM, "
                          r"(?P<os>.+?), (?P<date>\d{4}-\d\d-\d\d \d\d:\d\d) UTC, load average "
                          r"before the runs (?P<load_average>[\d.]+)")


def machine(line):
    """Return the machine as data from report.machine()'s line (its date and load average too)."""
    found = MACHINE_LINE.match(line or "")
    if not found:
        return {"described": line or "not recorded"}
    facts = found.groupdict()
    return {**facts, "cores": int(facts["cores"]), "memory_gib": int(facts["memory_gib"]),
            "load_average": float(facts["load_average"])}


def commit(before=None):
    """Return the commit the run ran: HEAD now (with '+changes' when the tree differs from it),
    or, for an earlier run (`before`, a UTC datetime), the last commit before it, inferred."""
    git = lambda *args: subprocess.run(["git", *args], cwd=ROOT, capture_output=True,  # noqa
                                       text=True).stdout.strip()
    # Trade-off 106: a report from before records gets the last commit before its run, marked
    # as inferred, so today's reports can be published without running them again. The cost:
    # a run made on a changed tree, or on another branch, would be credited to the wrong commit.
    if before is not None:
        found = git("rev-list", "-1", f"--before={before:%Y-%m-%dT%H:%M:%S}+00:00", "HEAD")
        return {"commit": found[:7] or "unknown",
                "commit_how": "inferred: the last commit before the run"}
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "--short=7", "HEAD") + ("+changes" if dirty else ""),
            "commit_how": "HEAD when the run started"}


def spread(values, digits=1):
    """Return {median, low, high} of the runs' values, rounded as the reports print them."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": round(statistics.median(values), digits),
            "low": round(min(values), digits), "high": round(max(values), digits)}


def record(kind, name, line, settings, figures, when=None, ran=None):
    """Return a record: what ran, where, when, at which commit, and what it measured.
    `ran`: what `commit()` said when the run started (a commit made during a long run must
    not be credited with it); without it, the commit now, or the one inferred from `when`."""
    facts = machine(line)
    date = facts.get("date") or f"{_now():%Y-%m-%d %H:%M}"
    return {"name": name, "kind": kind, "date": f"{date} UTC",
            **(ran or commit(when)), "machine": {k: v for k, v in facts.items() if k != "date"},
            "settings": settings, "report": f"reports/{name}", "figures": figures}


def write(folder, kind, line, settings, figures, when=None, ran=None):
    """Write folder/record.json (every run does, at its end); return the record. `ran`: the
    commit the run started on (`commit()` called at its start)."""
    made = record(kind, folder.name, line, settings, figures, when, ran)
    (folder / "record.json").write_text(json.dumps(made, indent=1) + "\n")
    return made


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


# --- figures of each kind of run -------------------------------------------------------------

def floor_figures(floor):
    """Return the floor's figures: each transport's round trips a second and CPU-ms (both ends)."""
    return {transport: {"per_s": round(floor[transport]["per_s"], 1),
                        "p50_ms": round(floor[transport]["p50_ms"], 2),
                        "cpu_ms": round(floor[transport]["cpu_ms"], 2)}
            for transport in ("amqp", "http") if transport in floor}


def bench_figures(runs, floor):
    """Return the bench's figures per db/variant: orders/s, CPU-ms per order, the floor multiple."""
    figures = {"floor": floor_figures(floor) if floor else None}
    if any(r.get("floor") for r in runs):  # how far the floor moved from run to run
        figures["floor_cpu_ms_by_run"] = {
            transport: spread([r["floor"][transport]["cpu_ms"] for r in runs if r.get("floor")],
                              2) for transport in ("amqp", "http")}
    for (db, variant), group in bench_report.groups(runs).items():
        cpu = [bench_report.services_cpu(r) for r in group]
        # `floor`: the median of the runs' floors (bench.md's formula); each multiple pairs a
        # run with the floor measured before it (load/bench_report.py ratios)
        least = floor_mod.order_cpu_ms(floor, variant) if floor else None
        figures[f"{db}/{variant}"] = {
            "runs": len(group), "orders_per_s": spread([r["orders_per_s"] for r in group]),
            "cpu_ms_per_order": spread(cpu),
            "floor_cpu_ms": round(least, 1) if least else None,
            "floor_multiple": (spread(bench_report.ratios(group, variant, floor))
                               if least else None),
            "half_rate_post_ms": {cut: spread([(r.get("half_rate") or {}).get("post_ms", {})
                                               .get(cut) for r in group], 0)
                                  for cut in ("p50", "p99")},
            "cpu_ms_by_process": {name: spread([r["cpu_ms"].get(name) for r in group])
                                  for name in sorted(group[0]["cpu_ms"])}}
    return figures


def bench_settings(runs, chosen=None):
    """Return the bench's settings: its own when it ran, else what runs.json tells."""
    if chosen:
        return {**chosen, "budget": runs[0]["budget"]["mode"] if runs else None}
    repeats = max(len(group) for group in bench_report.groups(runs).values())
    return {"variants": sorted({r["variant"] for r in runs}),
            "dbs": sorted({r["db"] for r in runs}), "orders": runs[0]["orders"],
            "runs": repeats, "budget": runs[0]["budget"]["mode"]}


def _ms(cuts):
    return {f"p{cut}": cuts.get(str(cut), cuts.get(cut)) for cut in (50, 95, 99)}


def demo_figures(summaries, floor):
    """Return the demo's figures per scenario/variant: rate and peak (median and spread, as the
    report shows them; the users at the peak are the median run's), latencies, 429s, CPU per
    order, audit."""
    figures = {"floor": floor_figures(floor) if floor else None}
    for s in summaries:
        repeats = s.get("repeats") or [s]
        figures[f"{s['scenario']}/{s['variant']}"] = {
            "runs": len(repeats), "users": s.get("users"), "seconds": s.get("seconds"),
            "finished_per_s": spread([r["finished_per_s"] for r in repeats]),
            "orders": sum(s["orders"].values()),
            "peak_per_s": spread([r["peak_per_s"] for r in repeats]),
            "peak_users": s.get("peak_users"), "post_ms": _ms(s["post"]),
            "completion_ms": _ms(s["final"]), "shed_429": s["shed"], "errors": s["errors"],
            "cpu_ms_per_order": None if s["cpu_ms_per_order"] is None
            else round(s["cpu_ms_per_order"]), "audit": "pass" if s["audit_ok"] else "FAIL",
            "budget": (s.get("budget") or {}).get("mode"), "throttled_percent": _throttled(s),
            "cpu_ms_per_order_by_program": {name: spread([_per_order(r, name) for r in repeats],
                                                         2) for name in sorted(s["cpu_s"])},
            "asks_per_order": spread([_asks(r) for r in repeats], 2),
            "logged_error_lines": [sum((r.get("logged_errors") or {}).values())
                                   for r in repeats],
            "logged_warning_lines": [sum((r.get("logged_warnings") or {}).values())
                                     for r in repeats]}
    return figures


def _per_order(summary, program):
    """Return the CPU-ms one program spent per order stored in a run."""
    orders = sum(summary["orders"].values())
    return summary["cpu_s"].get(program, 0.0) * 1000 / orders if orders else None


def _asks(summary):
    """Return the requests a run's users sent to learn outcomes, per order finished: requests
    for many orders now, single waits (`gets_per_order`) in a report from before them."""
    return summary.get("asks_per_order", summary.get("gets_per_order"))


def _throttled(summary):
    """Return each budgeted program's share of throttled periods, in percent (none unbudgeted)."""
    shares = (summary.get("budget") or {}).get("throttled") or {}
    return {name: round(share * 100) for name, share in shares.items() if share is not None}


def demo_settings(summaries):
    """Return the demo's settings: scenarios (users, seconds), variants, runs, budget."""
    return {"scenarios": {s["scenario"]: {"seconds": s.get("seconds"), "users": s.get("users")}
                          for s in summaries},
            "variants": sorted({s["variant"] for s in summaries}),
            "runs": max(len(s.get("repeats") or [s]) for s in summaries),
            "budget": sorted({(s.get("budget") or {}).get("mode") or "off" for s in summaries})}


# --- an existing report folder -> its record -------------------------------------------------

def from_report(folder):
    """Return a report folder's record: its record.json, or one built from its files."""
    if (folder / "record.json").exists():
        return json.loads((folder / "record.json").read_text())
    floor = _json(folder / "floor.json")
    when = started_at(folder.name)
    if (folder / "runs.json").exists():
        runs, line = _json(folder / "runs.json"), _first_line(folder / "bench.md", 2)
        return record("bench", folder.name, line, bench_settings(runs),
                      bench_figures(runs, floor), when)
    if (folder / "summary.json").exists():
        summaries = _json(folder / "summary.json")
        line = _first_line(folder / "summary.txt", 0).split(": ", 1)[-1]
        return record("demo", folder.name, line, demo_settings(summaries),
                      demo_figures(summaries, floor), when)
    if (folder / "results.json").exists() and folder.name.startswith("bench-cluster-"):
        return _cluster_bench(folder, when)
    raise SystemExit(f"{folder}: neither a bench (runs.json), a demo (summary.json) nor a "
                     "cluster bench (results.json) report, and no record.json")


def _cluster_bench(folder, when):
    """The record of a `make bench-cluster` run from before it wrote one: the variant from
    its report's title, the machine not recorded."""
    from load import cluster_bench  # here: that module imports this one
    results = _json(folder / "results.json")
    variant = _first_line(folder / "results.md", 0).removeprefix("# ").split(":", 1)[0]
    repeats = next(iter(results.values()))["repeats"]
    return record("bench-cluster", folder.name, "",
                  cluster_bench.settings(variant, repeats[0]["orders"], len(repeats)),
                  cluster_bench.figures(results), when)


def _json(path):
    return json.loads(path.read_text()) if path.exists() else None


def _first_line(path, index):
    try:
        return path.read_text().splitlines()[index]
    except (OSError, IndexError):
        return ""


def started_at(name):
    """Return the UTC start a report folder's name holds (reports/[bench-]YYYYmmdd-HHMMSS)."""
    found = re.search(r"(\d{8}-\d{6})$", name)
    return (datetime.datetime.strptime(found.group(1), "%Y%m%d-%H%M%S")
            .replace(tzinfo=datetime.timezone.utc) if found else None)


# Trade-off 107: a run writes its record beside its report, and only this step (make publish-run)
# puts it under docs/runs/, so smoke runs, tests and trial runs never change the docs. The cost:
# one more command after a run worth publishing, and a run nobody publishes shows in no doc.
def publish(folder, name=None, commit=None):
    """Copy a run's record to docs/runs/<name>.json (the folder's name by default); return it.
    `commit`: the commit a run from before records ran, when it ran in a checkout of its own
    (an older commit measured beside today's), instead of the one inferred from its date."""
    if name and not re.fullmatch(r"[\w.-]+", name):
        raise SystemExit(f"a record's name is a file name under docs/runs/, not {name!r}")
    made = {**from_report(folder), **({"name": name} if name else {})}
    if commit:
        made.update(_stated_commit(folder, made, commit))
    RUNS.mkdir(parents=True, exist_ok=True)
    target = RUNS / f"{made['name']}.json"
    target.write_text(json.dumps(made, indent=1) + "\n")
    return target


def _stated_commit(folder, made, commit):
    """Return the record's commit as the publisher states it: one of the history's, and only
    for a record built from a report's files (a run that wrote its record named its own)."""
    if (folder / "record.json").exists():
        raise SystemExit(f"{folder}: its record already names its commit ({made['commit']})")
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if not found:
        raise SystemExit(f"{commit}: not a commit of this repository's history")
    return {"commit": found[:7], "commit_how": "stated when published: the run's own checkout"}
