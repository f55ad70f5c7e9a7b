"""Turn one run's files (Locust's CSVs, the samples, run.json) into the numbers of the report.

Names of the Locust entries (load/locustfile.py): `POST /orders`, `POST /orders [429 shed]`,
`POST /orders/outcomes?wait` (one wait for the outcomes of many orders) and `order final` (the end-to-end
completion time).
"""
import csv
import json

from load import logged, observed
from load.sampler import program_service

POST, SHED, FINAL = "POST /orders", "POST /orders [429 shed]", "order final"
ASKED = "POST /orders/outcomes?wait"
WINDOW_S = 5  # the window of the peak throughput


def _rows(path):
    try:
        with open(path, newline="") as handle:
            return list(csv.DictReader(handle))
    except OSError:
        return []


def _num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def summary(folder):
    """Return the numbers of one run (folder of a scenario x variant)."""
    facts = json.loads((folder / "run.json").read_text())
    stats = {row["Name"]: row for row in _rows(folder / "locust_stats.csv")}
    final, post = stats.get(FINAL, {}), stats.get(POST, {})
    finished = int(final.get("Request Count", 0)) - int(final.get("Failure Count", 0))
    system_cpu = sum(s for who, s in facts["cpu_s"].items() if who != "locust")
    orders = sum(facts["orders"].values()) or None
    found = series(folder, facts["t0"])
    peak, peak_users = peak_rate(found)
    return {
        **facts, "finished": finished, "finished_per_s": finished / facts["seconds"],
        "peak_per_s": peak, "peak_users": peak_users,
        "post": {p: _num(post.get(f"{p}%")) for p in (50, 95, 99)},
        "final": {p: _num(final.get(f"{p}%")) for p in (50, 95, 99)},
        "errors": sum(int(r["Failure Count"]) for n, r in stats.items() if n != "Aggregated"),
        "shed": int(stats.get(SHED, {}).get("Request Count", 0)),
        "shed_ms": {p: _num(stats.get(SHED, {}).get(f"{p}%")) for p in (50, 95)},
        "asks_per_order": int(stats.get(ASKED, {}).get("Request Count", 0)) / max(finished, 1),
        "cpu_ms_per_order": system_cpu * 1000 / orders if orders else None,
        "locust_cpu_s": facts["cpu_s"].get("locust", 0.0),
        "system_cpu_s": system_cpu, **_observed(folder, facts, found),
        **logged.read(folder / "runner.log"),  # logged_errors, logged_warnings
    }


def _observed(folder, facts, found):
    """Return the figures a verdict may cite as a mechanism's evidence (load/observed.py)."""
    pending_rows = [(float(r["t"]), int(r["pending"])) for r in samples(folder, "pending")
                    if r["pending"]]
    return {"outage_window": observed.outage(facts, found, pending_rows, ledger_lines(folder)),
            "queue_peaks": observed.queue_peaks(samples(folder, "queues")),
            "pending_peak": max((n for _, n in pending_rows), default=0)}


def ledger_lines(folder):
    """Return the attempts of a run's ledger (none when it has no ledger)."""
    try:
        text = (folder / "ledger.jsonl").read_text()
    except OSError:
        return []
    return [json.loads(line) for line in text.splitlines()[1:] if line.strip()]


def series(folder, t0):
    """Return {name: [(t, users, total requests, total failures, p50, p95)]} from the history."""
    found = {}
    for row in _rows(folder / "locust_stats_history.csv"):
        t = float(row["Timestamp"]) - t0
        found.setdefault(row["Name"], []).append(
            (t, int(row["User Count"]), int(row["Total Request Count"]),
             int(row["Total Failure Count"]), _num(row["50%"]), _num(row["95%"])))
    return found


def rate(points, window=WINDOW_S):
    """Return [(t, successes per second over the last `window` seconds)] of one entry's points."""
    out = []
    for i, (t, _, total, failed, _, _) in enumerate(points):
        back = next((p for p in reversed(points[:i + 1]) if t - p[0] >= window), points[0])
        span = t - back[0]
        out.append((t, ((total - failed) - (back[2] - back[3])) / span if span > 0 else 0.0))
    return out


def peak_rate(found):
    """Return (the highest finished orders/s over WINDOW_S seconds, users at that time)."""
    points = found.get(FINAL, [])
    rates = rate(points)
    if not rates:
        return 0.0, 0
    best = max(range(len(rates)), key=lambda i: rates[i][1])
    return rates[best][1], points[best][1]


def samples(folder, name):
    """Return the rows of one samples CSV (cpu, queues or pending)."""
    return _rows(folder / f"samples_{name}.csv")


def cpu_by_service(cpu_s):
    """Return {service: CPU seconds} of a run's `cpu_s` (its programs summed per service)."""
    totals = {}
    for who, seconds in cpu_s.items():
        key = who if who in ("broker", "locust") else program_service(who)
        totals[key] = totals.get(key, 0.0) + seconds
    return totals
