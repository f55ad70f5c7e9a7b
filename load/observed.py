"""What a run observed, as figures a verdict may cite (load/claims.py names a mechanism only
when one of these shows it).

- the outage window: the rate of accepted orders before and during it, and, from the client's
  ledger (audit/ledger.py, one line per POST sent and per answer, each with its time), how
  every POST sent while payments was down was answered (201, 202, 429, none) and how long it
  took; how many orders were PENDING during it and when payments came back;
- the backlog: the most messages each choreographed queue held ready at once;
- the CPU budgets (the run's `budget` facts): which component used its share;
- payments' ceiling: with payments made slower, how many payments a second its concurrency
  allows, and how close the run's rate came to it.
"""
import math

SATURATED_SHARE = 0.9     # a component using 90% of its cores' budget is saturated,
SATURATED_THROTTLED = 0.2  # and so is one throttled in a fifth of the scheduler's periods
CEILING_SHARE = 0.8  # a rate this close to what payments' concurrency allows was bounded by it


def outage(facts, found, pending_rows, ledger_lines):
    """Return the figures of a run's outage window, or None when it had none. `found`: the
    Locust history (results.series), `pending_rows`: [(t, PENDING)], `ledger_lines`: the
    ledger's attempts."""
    if len(facts.get("events") or []) < 2:
        return None
    down, up = facts["events"][0][0], facts["events"][1][0]
    posts = found.get("POST /orders", [])
    start = min((p[0] for p in posts), default=0.0)
    before, _ = between(posts, start, down)
    during, failed = between(posts, down, up)
    rate_before = before / max(down - start, 1e-9)
    return {"down_s": up - down, "accepted": during, "failed": failed,
            "finished": between(found.get("order final", []), down, up)[0],
            "kept": (during / max(up - down, 1e-9)) / rate_before if rate_before else None,
            "post_p95_window_ms": max((p[5] for p in posts if down <= p[0] <= up and p[5]),
                                      default=None),
            **answers(ledger_lines, facts["t0"] + down, facts["t0"] + up),
            **pending(pending_rows, down, up)}


def between(points, start, end):
    """Return (successes, failures) of one Locust entry between two times (seconds after t0)."""
    def at(t):
        before = [p for p in points if p[0] <= t]
        return (before[-1][2], before[-1][3]) if before else (0, 0)
    (total_a, fail_a), (total_b, fail_b) = at(start), at(end)
    return (total_b - fail_b) - (total_a - fail_a), fail_b - fail_a


def answers(ledger_lines, start, end):
    """Return {"timed", "answers": {status: [ms of each answer]}} of the POSTs sent between two
    wall-clock times; "timed" is False for a ledger without times (written before them)."""
    sent, found = {}, {"timed": False, "answers": {}}
    for line in ledger_lines:
        if "at" not in line:
            continue
        found["timed"] = True
        if line["status"] is None:
            sent[line["key"]] = line["at"]
        elif start <= sent.get(line["key"], -1) <= end:
            took = round((line["at"] - sent.pop(line["key"])) * 1000, 1)
            found["answers"].setdefault(str(line["status"]), []).append(took)
    return found


def pending(pending_rows, down, up):
    """Return the most orders PENDING at once during the window, and the count at its end
    (the last sample before payments came back); None where nothing was sampled."""
    inside = [n for t, n in pending_rows if down <= t <= up]
    return {"pending_max": max(inside, default=None),
            "pending_at_restart": inside[-1] if inside else None}


def percentile(values, share):
    """Return the value below which `share` of the values lie (nearest rank), or None."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)] if ordered else None


def queue_peaks(queue_rows):
    """Return {queue: the most messages it held ready at once} of a choreographed run's
    depth samples (rows of t, queue, depth)."""
    peaks = {}
    for row in queue_rows:
        if row["depth"]:
            peaks[row["queue"]] = max(peaks.get(row["queue"], 0), int(row["depth"]))
    return peaks


def payments_ceiling(summary):
    """Return {"latency_ms", "units", "per_s", "share"} of a run with a slow payments: its
    concurrency (units at once, all replicas) x 1000 / latency is the most payments a second
    it allows, `share` the run's finished rate over that; None without a latency or a record."""
    latency_ms = int((summary.get("env") or {}).get("PAYMENTS_FAULT_LATENCY_MS") or 0)
    if not latency_ms or not summary.get("concurrency"):
        return None
    units = summary["concurrency"]["per_service"] * summary.get("replicas", 1)
    per_s = units * 1000 / latency_ms
    return {"latency_ms": latency_ms, "units": units, "per_s": per_s,
            "share": summary["finished_per_s"] / per_s}


def use(budget, who):
    """Return (cores used, cores of its budget or None, share throttled or None) of one program."""
    return (budget.get("used_cores", {}).get(who, 0.0), budget.get("cores", {}).get(who),
            budget.get("throttled", {}).get(who))


def saturated(budget, who):
    """Return True when a program used 90% of its budget or was throttled a fifth of the time."""
    used, cores, throttled = use(budget, who)
    return bool(cores) and (used >= SATURATED_SHARE * cores
                            or (throttled or 0.0) >= SATURATED_THROTTLED)


def busiest(budget, names):
    """Return the programs among `names` that had a budget, the most used share of it first."""
    with_budget = [w for w in names if use(budget, w)[1]]
    return sorted(with_budget, key=lambda w: (use(budget, w)[0] / use(budget, w)[1],
                                              use(budget, w)[2] or 0.0), reverse=True)


def use_text(budget, who):
    """Return `who used U of its C core(s)` (and how often it was throttled) of one program."""
    used, cores, throttled = use(budget, who)
    return (f"{who} used {used:.2f} of its {cores:g} core{'' if cores == 1 else 's'}"
            + (f", throttled in {throttled:.0%} of the periods" if throttled else ""))
