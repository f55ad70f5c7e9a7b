"""What each program's CPU budget was during a load, what it used, and how often it was stopped.

Every run records, in run.json (load/run.py) and runs.json (load/bench.py):

    "budget": {"mode": "cgroup-v1" | "cgroup-v2" | "off", "reason": "<why off, or ''>",
               "period_ms": 100, "cores": {who: cores or None}, "used_cores": {who: cores},
               "throttled": {who: share of periods throttled, or None}}

`who`: the sampler's names (a program such as `payments-worker`, `orchestrator-0`, and
`broker`, `database`, `locust`). Budgeted, the figures come from the cgroups (runner/budgets.py);
unbudgeted, `used_cores` comes from the sampler's per-process CPU and the rest is None.
A program whose used cores reach its budget, or that was throttled often, was short of CPU:
`saturated()` says so, and the reports mark it.
"""
import json
import os
import time

from load.variant import uses_broker
from runner import budgets as budgets_mod
from shared.runtime import config

THROTTLED_SHARE = 0.2  # a fifth of its periods stopped: the budget shaped the program's pace


def saturated(budget, who, threshold=0.9):
    """Return True when `who` used >= threshold x its budget, or was throttled in >= 20 % of
    the periods; False when unbudgeted or unknown."""
    cores = (budget.get("cores") or {}).get(who)
    used = (budget.get("used_cores") or {}).get(who)
    throttled = (budget.get("throttled") or {}).get(who)
    if cores is None:
        return False
    return (used is not None and used >= threshold * cores) or \
        (throttled is not None and throttled >= THROTTLED_SHARE)


class Harness:
    """The load harness's own groups (Locust; the broker it starts for a whole demo or bench),
    beside the runner's, and the mode it asks the runner for."""

    def __init__(self, mode=None):
        # Trade-off 74: the harness defaults to `auto`: a demo or bench runs budgeted wherever
        # the machine allows it and still runs (unbudgeted, the reason recorded in every run)
        # where it does not, so one command works everywhere. The cost: two reports made by
        # the same command may not be comparable; each states its mode, and BUDGET=on refuses
        # to run rather than measure something else.
        self.mode = mode or config.budget_mode("auto")
        self.budgets, self.reason = budgets_mod.for_run(self.mode, f"load-{os.getpid()}")

    def join(self, who, cores):
        """Create who's group (once) and return the prefix that runs a command in it."""
        if not self.budgets:
            return []
        if who not in self.budgets.cores:
            self.budgets.create(who, cores)
        return self.budgets.join_command(who)

    def groups(self):
        """Return {who: (group, cores)} of the harness's groups."""
        facts = self.budgets.facts() if self.budgets else {"groups": {}, "cores": {}}
        return {who: (group, facts["cores"][who]) for who, group in facts["groups"].items()}

    def remove(self):
        """Remove the harness's groups (after Locust and the broker stopped)."""
        if self.budgets:
            self.budgets.remove()


def runner_groups(var_dir, variant):
    """Return (mode, reason, {who: (group, cores)}) from the runner's var/<variant>/budget.json."""
    try:
        facts = json.loads((var_dir / variant / "budget.json").read_text())
    except (OSError, ValueError):
        return "off", "the runner wrote no budget.json", {}
    groups = {who: (group, facts["cores"][who]) for who, group in facts["groups"].items()}
    return facts["mode"], facts.get("reason", ""), groups


def meter_for(variant, harness=None):
    """Return a Meter over a running variant's groups (the runner's budget.json) and the
    harness's (Locust; the broker, which only the variants on RabbitMQ use)."""
    mode, reason, groups = runner_groups(variant.var_dir, variant.style)
    if harness:
        theirs = {who: g for who, g in harness.groups().items()
                  if who != "broker" or uses_broker(variant.name)}
        groups = {**theirs, **groups}  # a broker the runner started itself is the one used
    return Meter(mode, reason, groups)


class Meter:
    """Reads the groups' counters at the start and the end of the load."""

    def __init__(self, mode, reason, groups, root=budgets_mod.ROOT):
        self.mode, self.reason, self.groups = mode, reason, groups
        self.controller = budgets_mod.find(root) if groups else None
        self.before, self.started = {}, None

    def _read(self):
        return {who: self.controller.usage(group) for who, (group, _) in self.groups.items()}

    def start(self):
        """Note the counters and the time; the load begins."""
        self.before, self.started = (self._read() if self.controller else {}), time.monotonic()

    def stop(self, sampled_cpu_s):
        """Return the run's `budget` facts; `sampled_cpu_s`: the sampler's {who: CPU seconds}
        over the same time, used for the programs without a group."""
        wall = max(time.monotonic() - self.started, 1e-9)
        after = self._read() if self.controller else {}
        everyone = sorted(set(sampled_cpu_s) | set(self.groups))
        figures = {who: _figures(self.before.get(who), after.get(who),
                                 sampled_cpu_s.get(who, 0.0), wall) for who in everyone}
        return {"mode": self.mode if self.groups else "off", "reason": self._reason(),
                "period_ms": budgets_mod.PERIOD_US // 1000,
                "cores": {who: self.groups[who][1] if who in self.groups else None
                          for who in everyone},
                "used_cores": {who: used for who, (used, _) in figures.items()},
                "throttled": {who: throttled for who, (_, throttled) in figures.items()}}

    def _reason(self):
        if self.groups:
            return ""
        return self.reason or "no group was created"


def _figures(start, end, sampled_s, wall):
    """Return (used cores, share of periods throttled) of one program: from its group's
    counters when it has one, else from the sampler's CPU seconds (and no throttling)."""
    if end is None:
        return round(sampled_s / wall, 3), None
    periods = end.periods - start.periods
    throttled = (end.throttled - start.throttled) / periods if periods else 0.0
    return round((end.cpu_s - start.cpu_s) / wall, 3), round(throttled, 3)


def mode_line(budget):
    """Return one sentence saying which budget mode ran."""
    if budget["mode"] == "off":
        return f"CPU budgets: off ({budget['reason'] or 'BUDGET=off'}): every program shared " \
               "the machine's cores."
    return (f"CPU budgets: on ({budget['mode']}, a quota per program, enforced every "
            f"{budget['period_ms']} ms).")


HEADER = ["program", "budget (cores)", "used (cores)", "% of budget", "throttled periods"]


def table_rows(budget):
    """Return the budget table's rows: program | budget | used | % of budget | throttled."""
    rows = []
    for who in sorted(budget["used_cores"]):
        cores, used = budget["cores"].get(who), budget["used_cores"][who]
        throttled = budget["throttled"].get(who)
        share = "-" if not cores else f"{used / cores:.0%}"
        mark = " (saturated)" if saturated(budget, who) else ""
        rows.append([who, "-" if cores is None else f"{cores:g}", f"{used:.2f}",
                     share + mark, "-" if throttled is None else f"{throttled:.0%}"])
    return rows
