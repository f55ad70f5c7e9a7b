"""The Sagas tab's numbers: what became of the orders Locust placed, summed over Locust's processes.

Locust counts requests; a reader of this project wants orders: how many were placed, completed,
cancelled and why, shed, still in flight, and how long each took from its POST to its outcome.
A `Tally` keeps them where the users run, and sums exactly across Locust's processes
(`--processes N`, or `--master` / `--worker` on several machines):

- every figure is a count, so a worker sends what it counted since its last report (`take`)
  and the master adds it (`merge`); nothing is averaged;
- a time to final is kept as a histogram (rounded milliseconds -> orders), and a percentile is
  read from the merged histogram. The p95 of two workers is not the mean of their p95s.
"""
import csv
import io
from collections import Counter

# Rows of the tab, in order. A row "cancelled/<reason>" is added per reason seen.
SENT, PLACED, SHED, FAILED = "POSTs sent", "placed (201/202)", "shed (429)", "POST failed"
COMPLETED, WRONG, PENDING = "completed", "ended not as asked", "still PENDING at the bound"
STOPPED = "still PENDING after STOP"
UNANSWERED = "POST not answered (on its way, or cut by STOP)"
FINAL = "final (all)"
PERCENTILES = (50, 95, 99)


def rounded(ms):
    """Return `ms` rounded as Locust rounds its response times: to 1 ms below 100 ms, to two
    significant digits above, so a histogram has a few hundred buckets, not one per order."""
    ms = int(round(ms))
    if ms < 100:
        return ms
    digits = 10 ** (len(str(ms)) - 2)
    return int(round(ms / digits) * digits)


def percentile(histogram, fraction):
    """Return the smallest time that `fraction` of the histogram's orders took at most."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= fraction * total:
            return ms
    return max(histogram)


class Tally:
    """Counts per row, and a histogram of times to final per row (and for all finals)."""

    def __init__(self):
        self.counts, self.times = Counter(), {}

    def count(self, row, ms=None):
        """Count one order in `row`; with `ms`, its time from POST to final."""
        self.counts[row] += 1
        if ms is not None:
            for name in (row, FINAL):
                self.times.setdefault(name, Counter())[rounded(ms)] += 1

    def final(self, order, expected, ms):
        """Count an order seen final: by its status and reason, and whether it ended as asked."""
        row = COMPLETED if order["status"] == "COMPLETED" else f"cancelled/{order['reason']}"
        self.count(row, ms)
        if order["status"] != expected:
            self.counts[WRONG] += 1

    def take(self):
        """Return what was counted since the last take, as plain data, and start over (a
        worker's report to the master)."""
        times = {row: {str(ms): n for ms, n in h.items()} for row, h in self.times.items()}
        data = {"counts": dict(self.counts), "times": times}
        self.counts, self.times = Counter(), {}
        return data

    def merge(self, data):
        """Add a worker's report (what `take` returned)."""
        self.counts.update(data["counts"])
        for row, histogram in data["times"].items():
            mine = self.times.setdefault(row, Counter())
            mine.update({int(ms): n for ms, n in histogram.items()})

    def in_flight(self):
        """Return the orders placed and not yet seen final (nor given up on)."""
        finals = sum(n for row, n in self.counts.items() if row == COMPLETED or
                     row.startswith("cancelled/"))
        return self.counts[PLACED] - finals - self.counts[PENDING] - self.counts[STOPPED]

    def unanswered(self):
        """Return the POSTs sent that got no answer yet: on their way, or cut off by STOP
        (the ledger keeps their keys; the audit accepts an unanswered key, never a lost order)."""
        answered = self.counts[PLACED] + self.counts[SHED] + self.counts[FAILED]
        return self.counts[SENT] - answered

    def rows(self):
        """Return the tab's rows: {"what", "count", "p50", "p95", "p99"} each."""
        cancelled = sorted(r for r in self.counts if r.startswith("cancelled/"))
        names = [SENT, PLACED, SHED, FAILED, COMPLETED, *cancelled, WRONG, PENDING, STOPPED]
        rows = [self._row(name, self.counts[name]) for name in names]
        rows.insert(names.index(COMPLETED), {"what": "in flight", "count": self.in_flight()})
        rows.insert(names.index(SHED) + 2, {"what": UNANSWERED, "count": self.unanswered()})
        rows.append(self._row(FINAL, sum(self.times.get(FINAL, {}).values())))
        return rows

    def _row(self, name, count):
        row = {"what": name, "count": count}
        histogram = self.times.get(name)
        if histogram:
            row.update({f"p{p}": percentile(histogram, p / 100) for p in PERCENTILES})
        return row


def failing(counts, audit_ok):
    """Return why a run must fail a CI job (empty: it need not): an order that ended not as
    its body asked, one still PENDING (at the user's bound or after STOP), a failed audit."""
    reasons = [f"{counts[row]} {row}" for row in (WRONG, PENDING, STOPPED) if counts[row]]
    return reasons + (["the audit failed"] if audit_ok is False else [])


COLUMNS = ("what", "count", "p50", "p95", "p99", "note")


def as_csv(rows):
    """Return the rows as CSV text (the tab's download, and the file next to Locust's CSVs)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
