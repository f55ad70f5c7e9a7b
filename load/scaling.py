"""Claim C10 (a stateless orchestrator scales linearly with replicas), from the ramp at 1, 2
and 4 replicas (load/scenarios.py: steady, scale-out-2, scale-out-4).

For each variant and step: the peak throughput, its ratio against 1 replica and against linear,
and what stopped the line, read from the run's CPU budgets: the saturated program that used
most of its budget, the replicated one included, and whether the replicas shared the load. Without budgets
the programs shared the machine's cores, and the verdict says so instead of naming a culprit.
"""
import os

from load import observed, spread
from load.variant import NAMES, style

# The share of the machine's cores the programs used together above which a step's verdict
# says the machine itself was nearly full.
MACHINE_BUSY = 0.8
# What a replica is, per style of program (orch-amqp's are orch's): the programs the
# scale-out multiplies.
REPLICATED = {"orch": ("orchestrator replicas", lambda who: who.startswith("orchestrator")),
              "choreo": ("worker processes per service", lambda who: "-worker" in who)}


def steps(runs, variant):
    """Return {replicas: summary} of one variant's ramps (steady, and each scale-out step; an
    older report's single `scale-out` scenario counts as its 2-replica step)."""
    return dict(sorted((s.get("replicas", 1), s) for (name, v), s in runs.items()
                       if v == variant and (name == "steady" or name.startswith("scale-out"))))


def c10_scale_out(runs):
    """C10: a stateless orchestrator scales linearly with replicas."""
    lines, verdicts = [], []
    for variant in NAMES:
        found = steps(runs, variant)
        if 1 in found and len(found) > 1 and found[1]["peak_per_s"]:
            lines.append(_line(variant, found))
            verdicts.append(_limits(variant, found))
    if not lines:
        return [("p", "C10: the steady and scale-out scenarios did not both run.")]
    audited = all(s["audit_ok"] for v in NAMES for s in steps(runs, v).values())
    return [("p", "\n".join(lines)),
            ("p", "C10 verdict: " + " ".join(verdicts) + " A gain counts only when it is "
                  "larger than the runs' spread (DEMO_RUNS=3). " + (
                      "The replicas ran side by side with every invariant holding (the audit "
                      "passed at every step)." if audited else "The audit FAILED at a step: "
                      "see its output below."))]


def _line(variant, found):
    """Return one variant's steps: peak, ratio against 1 replica and against linear, 429s."""
    one = found[1]
    parts = [f"peak {spread.text(one, 'peak_per_s')} finished orders/s with 1"]
    for replicas, s in found.items():
        if replicas > 1:
            ratio = spread.median(s, "peak_per_s") / spread.median(one, "peak_per_s")
            beyond = spread.compare(spread.values(s, "peak_per_s"),
                                    spread.values(one, "peak_per_s"))
            parts.append(f"{spread.text(s, 'peak_per_s')} with {replicas}: x{ratio:.2f} against "
                         f"1 (linear: x{replicas}, so {ratio / replicas:.0%} of linear), "
                         f"{_scaling(ratio, replicas, beyond)}")
    shed = " -> ".join(str(s["shed"]) for s in found.values())
    return (f"- {variant} ({_what(variant, one)}): " + "; ".join(parts) + f"; 429s {shed}"
            + _cpu_per_order(found) + ".")


def _cpu_per_order(found):
    """Return the steps' CPU per order ("; CPU per order 113 -> 64 -> 46 ms, ..."), and when
    one replica spent clearly more per order while shedding, say so: figures, not a cause."""
    cost = {n: s.get("cpu_ms_per_order") for n, s in found.items()}
    if None in cost.values():
        return ""
    text = "; CPU per order " + " -> ".join(f"{ms:.0f}" for ms in cost.values()) + " ms"
    most = max(found)
    if found[1]["shed"] and cost[1] >= 1.25 * cost[most]:
        text += (f" (the lone replica's step spent {cost[1] / cost[most]:.1f}x the CPU per "
                 f"finished order of {most} replicas while it shed {found[1]['shed']} orders "
                 f"with 429s: work that finished no order)")
    return text


def _what(variant, summary):
    """Name what a step multiplies, with each worker's consumers when the run recorded them."""
    consumers = (summary.get("concurrency") or {}).get("per_service")
    if style(variant) == "choreo" and consumers:
        return f"{REPLICATED['choreo'][0]}, each with {consumers} consumers per queue"
    return REPLICATED[style(variant)][0]


def _scaling(ratio, replicas, beyond):
    if beyond in (spread.ONE_RUN, spread.WITHIN_NOISE):
        return beyond
    if ratio >= 0.9 * replicas:
        return "about linear"
    if ratio >= 1.1:
        return "a gain, sub-linear"
    if ratio >= 0.9:
        return "no gain"
    return "a loss"


def _limits(variant, found):
    """Say what limited each step of one variant, from its CPU budgets (or their absence)."""
    if not any(_has_budgets(s) for s in found.values()):
        return f"{variant}: {_shared_cores(found)}."
    return "; ".join(f"{variant} at {n}: " + (_limit(variant, s, n) if _has_budgets(s) else
                                               _shared_cores({n: s}))
                     for n, s in found.items()) + "."


def _has_budgets(summary):
    return bool(summary.get("budget")) and summary["budget"].get("mode") != "off"


def _limit(variant, summary, replicas):
    """Name what stopped the line at one step: the program that used most of its budget, if
    it was saturated (the replicated one included), with the others saturated beside it; else
    no program. An orchestrated step also says when its replicas were unevenly loaded."""
    budget, (group, mine) = summary["budget"], REPLICATED[style(variant)]
    ranked = observed.busiest(budget, budget.get("cores", {}))
    full = [w for w in ranked if observed.saturated(budget, w)]
    if not full:
        cores = summary.get("machine_cores") or os.cpu_count()
        return ("no program reached its CPU budget" + (
            f" (the busiest: {observed.use_text(budget, ranked[0])})" if ranked else "")
            + f"; together the programs used {_total_cores(summary):.1f} of the machine's "
              f"{cores} cores")
    first = full[0]
    text = (f"{'still ' if replicas > 1 else ''}limited by the {group} themselves: "
            if mine(first) else f"the line stopped at {first}: ") + observed.use_text(budget, first)
    if full[1:]:
        text += "; saturated too: " + ", ".join(full[1:])
    return (text + (_uneven(budget, mine) if style(variant) == "orch" else "")
            + _machine_busy(summary))


def _machine_busy(summary):
    """Say how much of the machine the programs used together when that was most of it: the
    budgets add up to more cores than the machine has (3.5 at four orchestrator replicas on
    2 cores over RabbitMQ), so past that point a program may wait for a core, not for its
    own quota."""
    cores = summary.get("machine_cores") or os.cpu_count()
    total = _total_cores(summary)
    if total < MACHINE_BUSY * cores:
        return ""
    return (f" (together the programs used {total:.1f} of the machine's {cores} cores: the "
            "machine itself was nearly full)")


def _uneven(budget, mine):
    """Say when the busiest replica used at least twice the idlest's cores (the figures only)."""
    use = {w: observed.use(budget, w)[0] for w in budget.get("used_cores", {}) if mine(w)}
    if len(use) < 2 or max(use.values()) < 2 * min(use.values()):
        return ""
    busy, idle = max(use, key=use.get), min(use, key=use.get)
    return (f" (the replicas were unevenly loaded: {busy} used {use[busy]:.2f} cores, "
            f"{idle} {use[idle]:.2f})")


def _shared_cores(found):
    """Say, for steps without CPU budgets ({replicas: summary}), that no program owned a core,
    and how many of the machine's cores all of them used together at each step."""
    first = next(iter(found.values()))
    budget, cores = first.get("budget"), first.get("machine_cores") or os.cpu_count()
    why = (f"the CPU budgets were off ({budget.get('reason') or 'off'})" if budget else
           "the CPU budgets were not recorded (the run has no budget facts)")
    used = ", ".join(f"{_total_cores(s):.1f} at {n}" for n, s in found.items())
    return (f"{why}: the programs shared the machine's {cores} cores, so no program owned a "
            f"CPU to name as the limit; together they used {used} (cores on average)")


def _total_cores(summary):
    """Return the cores the whole run used on average: the budgets' measure when there is
    one, else its CPU seconds over the load and drain."""
    used = (summary.get("budget") or {}).get("used_cores")
    if used:
        return sum(used.values())
    return sum(summary["cpu_s"].values()) / max(summary["seconds"] + summary["drained_s"], 1e-9)
