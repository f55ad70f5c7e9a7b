"""Run one scenario against a running System: load, fault, heal, wait for quiet, audit, measure.

Every request the scenario's clients send goes into one ledger (audit/ledger.py), which the
audit checks and the row is counted from. A row passes only with exact counts: every key the
clients sent was accepted, and every accepted order ended as its body asked.
Time to drain: from the end of the load (faults healed) until the variant was quiet.
"""
import io
import threading
import time
from datetime import datetime, timezone

from audit.__main__ import report, report_listings
from audit.ledger import Ledger
from chaos.load import Load
from chaos.measure import Row, measure
from chaos.scenarios import SCENARIOS

FULL = {"total": 100, "rate": 8.0, "down_s": 10.0, "audit_s": 180.0}
SHORT = {"total": 30, "rate": 8.0, "down_s": 3.0, "audit_s": 90.0}


class Context:
    """What a scenario function gets: the system, its load, and its knobs."""

    def __init__(self, system, name, short, total=None):
        knobs = SHORT if short else FULL
        self.system, self.short, self.amqp_url = system, short, system.amqp_url
        self.tag = f"{name}-{datetime.now(timezone.utc):%H%M%S}"
        self.total, self.rate, self.down_s = total or knobs["total"], knobs["rate"], knobs["down_s"]
        self.load, self.extra_keys, self.failures = None, 0, []
        self.ledger = Ledger(system.var_dir / "ledgers" / f"{self.tag}.jsonl", f"{self.tag}-")

    def under_load(self, action, at_fraction=0.3, hold=False):
        """Run the load; `action` (if any) starts in the middle of it. Wait for both.
        hold=True: the orders after that point wait until the action calls
        `ctx.load.release()` (or ends), so they surely arrive while its fault is in place."""
        hold_at = round(at_fraction * self.total) if hold else None
        self.load = Load(self.system.urls["orders"], self.tag, self.ledger, total=self.total,
                         rate=self.rate, seconds=2 * self.total / self.rate + 60,
                         hold_at=hold_at).start()
        done = threading.Thread(target=self._act, args=(action,), daemon=True) if action else None
        if done:
            time.sleep(at_fraction * self.total / self.rate)
            done.start()
        self.load.join()
        if done:
            done.join()

    def _act(self, action):
        try:
            action()
        finally:
            self.load.release()  # held orders never wait for an action that failed

    def check(self, condition, failure):
        """Record a scenario-specific failure (the row then fails)."""
        if not condition:
            self.failures.append(failure)


def run_scenario(system, name, short=False, audit_s=None, out=None, total=None):
    """Run one scenario; print its audit to `out`; return its Row (passed or not).
    `audit_s` and `total` (orders) override the knobs for one run (the tests use them)."""
    out = out or io.StringIO()
    function, _variants = SCENARIOS[name]
    ctx = Context(system, name, short, total)
    notes = function(ctx)
    healed = time.monotonic()
    results, listings = system.audit(audit_s or (SHORT if short else FULL)["audit_s"],
                                     ledger=ctx.ledger.path)
    row = Row(name, system.variant, system.db, drain_s=round(time.monotonic() - healed, 1),
              notes=notes)
    out.write(f"--- {name} ({system.variant}, {system.db}): {'; '.join(notes)} "
              f"[ledger {ctx.ledger.path}]\n")
    report_listings(listings, out)
    audit_ok = report(results, out)
    measure(row, system.urls, ctx.ledger.path)
    # Every key the client sent must be in its ledger. How MANY it sent within the load's time
    # bound depends on the machine (a slowed service slows the client), so it is a note, not
    # a verdict; each key sent is then checked in full by the audit and measure() above.
    sent = (ctx.load.sent if ctx.load else 0) + ctx.extra_keys
    ctx.check(row.sent == sent, f"the ledger holds {row.sent} keys, {sent} were sent")
    ctx.check(row.refused == 0, f"{row.refused} keys never accepted")
    if ctx.load and ctx.load.sent < ctx.total:
        row.notes.append(f"the client sent {ctx.load.sent} of {ctx.total} orders within its "
                         f"time bound")
    row.notes += ctx.failures + [f"HTTP {dict(ctx.load.statuses)}"]
    row.passed = audit_ok and not ctx.failures and row.lost == 0 and row.doubled == 0
    return row
