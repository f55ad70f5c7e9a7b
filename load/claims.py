"""What the numbers say about claims C5, C8, C9 and C10 of CLAIMS.md, computed from the runs.

Each function returns paragraphs; every number in them comes from the runs it is given, and
each verdict (supports / contradicts / not shown) is decided by a comparison written below,
so a different machine can reach a different verdict. A sentence that names a mechanism (the
budget ran out, sagas were parked, messages queued, a component saturated its CPU) is written
only when the run's figures show it (load/observed.py), with those figures; otherwise the
verdict says what the figures show and no more. `runs`: {(scenario, variant): summary}.
"""
from load import costs, observed, spread
from load.scaling import c10_scale_out  # noqa: F401 (the report calls every claim from here)
from load.variant import NAMES as VARIANTS, uses_broker
from shared.runtime import config

# Trade-off 76: a verdict names a mechanism (the budget ran out, sagas parked, messages queued,
# a CPU budget saturated) only next to the run's figure that shows it, so a report cannot tell
# a story its run did not play. It costs branches here and figures the runs must record (the
# ledger's times, the concurrency, the budgets), and a real cause the run did not measure goes
# unsaid: the verdict then says what the figures show and stops.
KEPT = 0.8  # the share of its earlier rate a variant must keep during the outage


def _fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def _setting(summary, name, default):
    """Return a setting as the run had it: the scenario's value, else this machine's config."""
    return int((summary.get("env") or {}).get(name) or default())


def c5_outage(runs, folders=None):
    """C5: choreography keeps accepting orders while payments is down, and drains after."""
    every = {v: runs[("outage", v)] for v in VARIANTS
             if (runs.get(("outage", v)) or {}).get("outage_window")}
    if not ("choreo" in every and "orch" in every):
        return [("p", "C5: the outage scenario did not run for both choreo and orch.")]
    lines = "\n".join(_c5_line(v, s) for v, s in every.items())  # orch-amqp's too, if it ran
    found = {v: every[v] for v in ("choreo", "orch")}  # the article's claim: the two styles
    kept = {v: s["outage_window"]["kept"] for v, s in found.items()}
    repeats = min(len(s.get("repeats") or [1]) for s in found.values())
    refused = "".join(f" {said}" for said in (_refused(v, s, every) for v, s in every.items()
                                               if v != "choreo") if said)
    if repeats < 2 and None not in kept.values():
        return [("p", lines), ("p", "C5 verdict: one run, no spread to judge a difference by "
                 f"(DEMO_RUNS=3): choreography kept {kept['choreo']:.0%} of its rate, "
                 f"orchestration {kept['orch']:.0%}; read what follows as a hint: "
                 + _c5_verdict(found, one_run=True) + refused)]
    head = f"C5 verdict (median of {repeats} runs): " if repeats > 1 else "C5 verdict: "
    return [("p", lines), ("p", head + _c5_verdict(found) + refused)]


def _c5_line(variant, summary):
    w = summary["outage_window"]
    kept = _fmt(w["kept"] and 100 * w["kept"], 0)
    return (f"- {variant}: payments down for {w['down_s']:.0f} s. Orders accepted during the "
            f"outage: {w['accepted']} ({kept}% of the rate before it), {w['failed']} POST "
            f"errors; {_answers_text(w)}; orders finished during it: {w['finished']}; most "
            f"orders PENDING at once during it: {_fmt(w['pending_max'], 0)}, when payments came "
            f"back: {_fmt(w['pending_at_restart'], 0)}; quiet {summary['drained_s']:.0f} s after "
            f"the load stopped; audit {'passed' if summary['audit_ok'] else 'FAILED'}.")


def _answers_text(window):
    """Say how the POSTs sent during the outage were answered, from the ledger's times."""
    if not window.get("timed"):
        return (f"POST p95 up to {_fmt(window['post_p95_window_ms'], 0)} ms (Locust's window; "
                "this run's ledger has no times, so the answers are not split by status)")
    every = [ms for took in window["answers"].values() for ms in took]
    counts = ", ".join(f"{code} x{len(took)}" for code, took in sorted(window["answers"].items()))
    return (f"answers to the POSTs sent during it: {counts or 'none'}, POST p95 "
            f"{_fmt(observed.percentile(every, 0.95), 0)} ms, max "
            f"{_fmt(max(every, default=None), 0)} ms")


def _c5_verdict(found, one_run=False):
    """Return the verdict on C5 from both variants' outage figures ({variant: summary})."""
    kept = {v: s["outage_window"]["kept"] for v, s in found.items()}
    if None in kept.values():
        return "the run was too short to have a rate before the outage; run it longer."
    head = _c5_comparison(kept, "leans toward" if one_run else "supports")
    if head is None:
        return (f"the measurement {'leans against' if one_run else 'does not support'} the "
                f"article here: choreography accepted {kept['choreo']:.0%} and orchestration "
                f"{kept['orch']:.0%} of their normal rate during the outage (see the chart: a "
                "machine too busy to keep the arrival rate shows up the same way).")
    return " ".join([head] + _orch_answers(found["orch"]) + _parked(found["orch"]))


def _c5_comparison(kept, says):
    """Return the sentence that compares the kept rates with the article, None against it."""
    if kept["choreo"] >= KEPT > kept["orch"]:
        return (f"the measurement {says} the article: choreography kept accepting orders at "
                f"{kept['choreo']:.0%} of its normal rate while payments was down, the "
                f"orchestrated variant at {kept['orch']:.0%} (below {KEPT:.0%}, the line drawn "
                "here).")
    if kept["choreo"] >= KEPT and kept["orch"] >= KEPT:
        return (f"the measurement {says} the article only in part: both variants kept "
                f"accepting orders while payments was down, choreography at {kept['choreo']:.0%} "
                f"of its normal rate and orchestration at {kept['orch']:.0%}.")
    return None


def _orch_answers(summary):
    """Say how the orchestrated POSTs of the outage were answered, and whether they waited for
    the orchestrator's budget: only 202s that took 90% of it or more waited for it to run out."""
    window, budget_ms = summary["outage_window"], _setting(summary, "ORCH_SYNC_BUDGET_MS",
                                                          config.orch_sync_budget_ms)
    if not window.get("timed"):
        return ["This run's ledger has no answer times, so whether the orchestrated POSTs "
                "waited for the orchestrator's budget is not shown."]
    pending = window["answers"].get("202", [])
    waited = [ms for ms in pending if ms >= 0.9 * budget_ms]
    budget = f"the orchestrator's {budget_ms / 1000:g} s budget (ORCH_SYNC_BUDGET_MS)"
    if not pending:
        return ["The orchestrated variant answered none of the orders placed during the outage "
                "with 202."]
    if waited:
        rest = len(pending) - len(waited)
        return [f"{len(waited)} of its {len(pending)} 202 answers to orders placed during the "
                f"outage came once {budget} ran out (each took at least 90% of it)"
                + (f"; the other {rest} came before it." if rest else ".")]
    return [f"Its {len(pending)} 202 answers to orders placed during the outage came in p95 "
            f"{_fmt(observed.percentile(pending, 0.95), 0)} ms (max {max(pending):.0f} ms), "
            f"before {budget}: none waited for the budget to run out."]


def _refused(variant, summary, every):
    """Say that an orchestrated variant refused orders with 429 during the outage, when it did,
    and why only when the figures show it: over RabbitMQ a saga keeps its in-flight slot until
    its reply comes (Trade-off 81), so the sagas waiting for a stopped payments can fill the
    bound, which the most orders PENDING at once then reached."""
    window = summary["outage_window"]
    refused = len(window.get("answers", {}).get("429", [])) if window.get("timed") else 0
    if not refused:
        return ""
    text = f"{variant} refused {refused} of the orders placed during the outage with 429"
    bound, pending = _setting(summary, "ORCH_MAX_IN_FLIGHT", config.orch_max_in_flight), \
        window["pending_max"]
    if not (uses_broker(variant) and pending is not None and pending >= bound):
        return text + "."
    text += (f": its sagas waiting for payments' replies kept their in-flight slots until "
             f"payments came back (most orders PENDING at once {pending:.0f}, its bound "
             f"ORCH_MAX_IN_FLIGHT {bound}), as a saga over RabbitMQ holds its slot until its "
             f"reply comes (Trade-off 81)")
    http = every.get("orch")
    if http and http["outage_window"].get("timed") and "429" not in http["outage_window"][
            "answers"]:
        text += ("; over HTTP, where a saga whose step keeps failing is parked and holds no "
                 "slot, none was refused")
    return text + "."


def _parked(summary):
    """Say that sagas were parked and resumed, when the figures show it: orders still PENDING
    when payments came back, and every accepted order final at the audit."""
    at_restart = summary["outage_window"]["pending_at_restart"]
    if not at_restart:
        return []
    if not summary["audit_ok"]:
        return [f"{at_restart} orchestrated orders were still PENDING when payments came back, "
                "and the audit FAILED (see its output below)."]
    return [f"{at_restart} orchestrated orders were still PENDING when payments came back, and "
            "the audit found every accepted order final: those sagas were parked during the "
            "outage and resumed after it, where the article's purely synchronous orchestrator "
            "would have failed them."]


def c8_slow_dependency(runs):
    """C8: orchestration is synchronous, at the expense of concurrency and throughput."""
    found = {v: runs[("slow-dependency", v)] for v in VARIANTS
             if runs.get(("slow-dependency", v))}
    if not ("choreo" in found and "orch" in found):
        return ([("p", "C8: the slow-dependency scenario did not run for both choreo and orch.")]
                + costs.split(runs))  # the steady ramp may still split the costs
    lines = [f"- {v}: {s['finished_per_s']:.1f} finished orders/s with {s['users']} users, "
             f"completion p50/p95 {_fmt(s['final'][50], 0)}/{_fmt(s['final'][95], 0)} ms, POST "
             f"p95 {_fmt(s['post'][95], 0)} ms, {_fmt(s['cpu_ms_per_order'], 0)} CPU ms per order"
             for v, s in found.items()]
    choreo, orch = found["choreo"], found["orch"]
    verdict = _c8_verdict(spread.compare(spread.values(orch, "finished_per_s"),
                                         spread.values(choreo, "finished_per_s")),
                          orch["finished_per_s"] < choreo["finished_per_s"])
    why = " ".join(_c8_concurrency(found) + _c8_mechanisms(found))
    return ([("p", "\n".join(lines)), ("p", f"C8 verdict: the measurement {verdict}. {why}")]
            + costs.split(runs))


def _c8_verdict(orch_vs_choreo, orch_lower_in_median):
    """Return the verdict on C8: only a difference larger than the runs' spread decides it."""
    if orch_vs_choreo == spread.LOWER:
        return "supports the article: the orchestrated variant finished fewer orders per second"
    if orch_vs_choreo == spread.HIGHER:
        return ("contradicts the article: the orchestrated variant finished more orders per "
                "second than the choreographed one")
    lower = "fewer" if orch_lower_in_median else "at least as many"
    if orch_vs_choreo == spread.ONE_RUN:
        return (f"is one run: the orchestrated variant finished {lower} orders per second, with "
                "no spread to tell that from noise (DEMO_RUNS=3)")
    return (f"is within noise: the orchestrated variant finished {lower} orders per second in "
            "the median, but the runs of the two variants overlap")


# What takes payments' work at once in each variant, as the verdicts name it.
UNITS = {"choreo": ("consumers per queue in each choreographed worker", "consumers"),
         "orch": ("request threads in each orchestrated service API", "threads"),
         "orch-amqp": ("command consumers in each orchestrated service over AMQP",
                       "command consumers")}
NAMED = {"choreo": "choreographed", "orch": "orchestrated", "orch-amqp": "orch-amqp"}


def _c8_concurrency(found):
    """State the concurrency each variant ran at (recorded by load/run.py), and whether equal."""
    recorded = {v: s.get("concurrency") for v, s in found.items()}
    if not all(recorded.values()):
        return ["The runs did not record their concurrency (runs before it was recorded), so "
                "whether the styles had the same is not shown."]
    each = ", ".join(f"{c['per_service']} {UNITS[v][0]}" for v, c in recorded.items())
    if len({c["per_service"] for c in recorded.values()}) == 1:
        settings = {c["setting"] for c in recorded.values()}
        named = f", CONCURRENCY={settings.pop()}" if len(settings) == 1 else ""
        return [f"Both styles ran at the same concurrency{named}: {each}."] + _ceilings(found)
    return [f"The styles did not run at the same concurrency: {each}."] + _ceilings(found)


def _ceilings(found):
    """Say that payments' concurrency was a variant's limit when its rate came within 80% of
    what that many overlapping slow payments allow."""
    said = []
    for variant, s in found.items():
        c = observed.payments_ceiling(s)
        if c and c["share"] >= observed.CEILING_SHARE:
            said.append(f"The {NAMED[variant]} variant finished {s['finished_per_s']:.1f} "
                        f"orders/s, {c['share']:.0%} of the {c['units']} x "
                        f"1000/{c['latency_ms']} = {c['per_s']:.0f} payments a second that "
                        f"{c['units']} {UNITS[variant][1]} allow at {c['latency_ms']} ms each: "
                        "payments' concurrency was its limit.")
    return said


def _c8_mechanisms(found):
    """Name what bounded each variant, each with the figure that shows it; or say none showed."""
    said = [t for v, s in found.items() for t in _queued_at_payments(v, s) + _shed(v, s)]
    said += [f"In the {NAMED[v]} run {t}." for v, s in found.items() if (t := budget_saturation(s))]
    if said:
        return said
    return ["The figures show no mechanism behind the difference: no message waited in "
            "payments' queue, no order was shed, and " + "; ".join(
                f"in the {NAMED[v]} run {budget_note(s)}" for v, s in found.items()) + "."]


# The queue payments' work waits in, per variant on RabbitMQ.
PAYMENTS_QUEUE = {"choreo": "payments.events", "orch-amqp": "payments.commands"}


def _queued_at_payments(variant, summary):
    peaks, queue = summary.get("queue_peaks") or {}, PAYMENTS_QUEUE.get(variant)
    at_payments = peaks.get(queue, 0)
    if not at_payments:
        return []
    deepest = max(peaks, key=peaks.get)
    where = (f"the deepest of the {NAMED[variant]} queues" if deepest == queue else
             f"the deepest queue was {deepest} with {peaks[deepest]}")
    return [f"Messages queued at payments: up to {at_payments} waited ready in {queue} "
            f"({where})."]


def _shed(variant, summary):
    if variant == "choreo" or not summary["shed"]:
        return []
    bound = _setting(summary, "ORCH_MAX_IN_FLIGHT", config.orch_max_in_flight)
    return [f"The {NAMED[variant]} variant bounded its sagas: it shed {summary['shed']} orders "
            f"with 429 at {bound} sagas in flight per replica (ORCH_MAX_IN_FLIGHT)."]


def budget_saturation(summary):
    """Return which programs saturated their CPU budget in a run, with their use; "" if none."""
    budget = summary.get("budget")
    if not budget or budget.get("mode") == "off":
        return ""
    full = [w for w in observed.busiest(budget, budget.get("cores", {}))
            if observed.saturated(budget, w)]
    return "; ".join(observed.use_text(budget, w) for w in full) + (" (saturated)" if full else "")


def budget_note(summary):
    """Say what a run's CPU budgets show: off, not recorded, or the busiest program's use."""
    budget = summary.get("budget")
    if not budget:
        return "the CPU budgets were not recorded (the run has no budget facts)"
    if budget.get("mode") == "off":
        return f"the programs ran without CPU budgets ({budget.get('reason') or 'off'})"
    busiest = observed.busiest(budget, budget.get("cores", {}))
    return "no program reached its CPU budget" + (
        f" (the busiest: {observed.use_text(budget, busiest[0])})" if busiest else "")


def c9_regulation(runs):
    """C9 (regulation of load): the orchestrator sheds load with 429 instead of collapsing."""
    orch = runs.get(("steady", "orch"))
    if not orch:
        return [("p", "C9: the steady scenario did not run for the orchestrated variant.")]
    bound = _setting(orch, "ORCH_MAX_IN_FLIGHT", config.orch_max_in_flight)
    text = (f"In the steady ramp to {orch['users']} users the orchestrated variant shed "
            f"{orch['shed']} orders with 429 and had {orch['errors']} errors; POST p99 "
            f"{_fmt(orch['post'][99], 0)} ms.")
    if orch["shed"]:
        shed_ms = orch.get("shed_ms") or {}
        text += (" Shedding worked as the article's 'regulation of load' says: past "
                 f"ORCH_MAX_IN_FLIGHT ({bound}) sagas in flight per replica, new orders were "
                 f"refused with 429, answered in p50/p95 {_fmt(shed_ms.get(50), 0)}/"
                 f"{_fmt(shed_ms.get(95), 0)} ms.")
    else:
        text += (" No order was shed: the ramp's closed-loop users never held more than "
                 f"ORCH_MAX_IN_FLIGHT ({bound}) sagas in flight at once, so this run does not "
                 "show the 429s (tests/integration/test_orchestrator_load_shedding.py does).")
    return [("p", f"{text} {_self_healing(runs.get(('outage', 'orch')))}")]


def _self_healing(outage):
    """Say whether the outage run shows sagas resumed: PENDING at the restart, all final after."""
    window = (outage or {}).get("outage_window")
    if not window:
        return "Self-healing is not shown here: the outage scenario did not run."
    if window["pending_at_restart"] and outage["audit_ok"]:
        return (f"Self-healing: in the outage scenario {window['pending_at_restart']} orders "
                "were still PENDING when payments came back, and the audit found every "
                "accepted order final: their sagas were resumed.")
    return ("Self-healing is not shown by the outage run: no orchestrated order was left "
            "PENDING when payments came back" if not window["pending_at_restart"] else
            "Self-healing is not shown: the outage run's audit FAILED") + "."
