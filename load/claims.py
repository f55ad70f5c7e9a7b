"""What the numbers say about claims C5, C8, C9 and C10 of CLAIMS.md, computed from the runs.

Each function returns paragraphs; every number in them comes from the runs it is given, and
each verdict (supports / contradicts / not shown) is decided by a comparison written below,
so a different machine can reach a different verdict. `runs`: {(scenario, variant): summary}.
"""
from load import results, spread
from runner import processes
from shared import config


def _fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def c5_outage(runs, folders):
    """C5: choreography keeps accepting orders while payments is down, and drains after."""
    lines, kept, waited = [], {}, {}
    for variant in ("choreo", "orch"):
        summary = runs.get(("outage", variant))
        if not summary or len(summary["events"]) < 2:
            continue
        down, up = summary["events"][0][0], summary["events"][1][0]
        found = results.series(folders[("outage", variant)], summary["t0"])
        posts = found.get(results.POST, [])
        start = min((p[0] for p in posts), default=0.0)
        before, _ = results.between(posts, start, down)
        during, post_failed = results.between(posts, down, up)
        finished, _ = results.between(found.get(results.FINAL, []), down, up)
        rate_before = before / max(down - start, 1e-9)
        kept[variant] = (during / max(up - down, 1e-9)) / rate_before if rate_before else None
        waited[variant] = max((p[5] for p in posts if down <= p[0] <= up and p[5]), default=None)
        lines.append(
            f"- {variant}: payments down for {up - down:.0f} s. Orders accepted during the outage: "
            f"{during} ({_fmt(kept[variant] and 100 * kept[variant], 0)}% of the rate before it), "
            f"{post_failed} POST errors, "
            f"POST p95 up to {_fmt(waited[variant], 0)} ms; orders finished during it: {finished}; "
            f"most orders PENDING at once: {_max_pending(folders[('outage', variant)])}; quiet "
            f"{summary['drained_s']:.0f} s after the load stopped; audit "
            f"{'passed' if summary['audit_ok'] else 'FAILED'}.")
    if len(kept) < 2:
        return [("p", "C5: the outage scenario did not run for both variants.")]
    repeats = min(len(runs[("outage", v)].get("repeats") or [1]) for v in kept)
    if repeats < 2 and None not in kept.values():
        return [("p", "\n".join(lines)), ("p", "C5 verdict: one run, no spread to judge a "
                 f"difference by (DEMO_RUNS=3): choreography kept {kept['choreo']:.0%} of its "
                 f"rate, orchestration {kept['orch']:.0%}; read what follows as a hint: "
                 + _c5_verdict(kept, waited, one_run=True))]
    return [("p", "\n".join(lines)), ("p", f"C5 verdict (median of {repeats} runs): "
             + _c5_verdict(kept, waited))]


def _budget_s():
    return f"{config.orch_sync_budget_ms() / 1000:g}"


def _c5_verdict(kept, waited, one_run=False):
    says = "leans toward" if one_run else "supports"
    if None in kept.values():
        return "the run was too short to have a rate before the outage; run it longer."
    if kept["choreo"] >= 0.8 > kept["orch"]:
        return (f"the measurement {says} the article: choreography kept accepting orders at "
                f"{kept['choreo']:.0%} of its normal rate while payments was down, the "
                f"orchestrated variant at {kept['orch']:.0%} (below 80%, the line drawn here), "
                f"its POSTs waiting up to {_fmt(waited['orch'], 0)} ms (p95). It lost none of "
                f"them: past its {_budget_s()} s budget it answers 202 and resumes the saga when "
                "payments is back, so the gap is smaller than the article's synchronous picture.")
    if kept["choreo"] >= 0.8 and kept["orch"] >= 0.8:
        return (f"the measurement {says} the article only in part. Choreography kept accepting "
                "at once, but so did the orchestrated variant, at the price of a wait: its orders "
                f"service answers 202 once the orchestrator's {_budget_s()} s budget "
                "(ORCH_SYNC_BUDGET_MS) runs out, and the recovery loop resumes the sagas when "
                "payments is back. The article's purely synchronous orchestrator would have "
                "failed these orders; this one degrades to asynchronous, which is what the "
                "outbox and the budget buy.")
    return (f"the measurement {'leans against' if one_run else 'does not support'} the article "
            "here: choreography accepted "
            f"{kept['choreo']:.0%} and orchestration {kept['orch']:.0%} of their normal rate "
            "during the outage (see the chart: a machine too busy to keep the arrival rate "
            "shows up the same way).")


def _max_pending(folder):
    counts = [int(r["pending"]) for r in results.samples(folder, "pending") if r["pending"]]
    return max(counts, default=0)


def c8_slow_dependency(runs):
    """C8: orchestration is synchronous, at the expense of concurrency and throughput."""
    choreo, orch = runs.get(("slow-dependency", "choreo")), runs.get(("slow-dependency", "orch"))
    if not (choreo and orch):
        return [("p", "C8: the slow-dependency scenario did not run for both variants.")]
    lines = [f"- {v}: {s['finished_per_s']:.1f} finished orders/s with {s['users']} users, "
             f"completion p50/p95 {_fmt(s['final'][50], 0)}/{_fmt(s['final'][95], 0)} ms, POST "
             f"p95 {_fmt(s['post'][95], 0)} ms, {_fmt(s['cpu_ms_per_order'], 0)} CPU ms per order"
             for v, s in (("choreo", choreo), ("orch", orch))]
    verdict = _c8_verdict(spread.compare(spread.values(orch, "finished_per_s"),
                                         spread.values(choreo, "finished_per_s")),
                          orch["finished_per_s"] < choreo["finished_per_s"])
    consumers, threads = config.consumer_threads(), _request_threads("orch", "payments-api")
    latency_ms = int((choreo.get("env") or {}).get("PAYMENTS_FAULT_LATENCY_MS", 200))
    why = (f"Why: in the choreographed variant each of the {consumers} consumers of payments' "
           f"queue (CONSUMER_THREADS) takes its messages one at a time (pika's callback; prefetch "
           f"only bounds the unacked window), so {latency_ms} ms per message caps payments at "
           f"{consumers} x 1000/{latency_ms} = {consumers * 1000 / latency_ms:.0f} messages/s "
           f"however many orders wait; the orchestrated payments API serves {threads} threads, "
           f"so {threads} slow calls overlap. Asynchrony decouples the caller from the wait; it "
           "gives no concurrency unless the consumer has it.")
    return [("p", "\n".join(lines)), ("p", f"C8 verdict: the measurement {verdict}. {why}")]


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


def c9_regulation(runs):
    """C9 (regulation of load): the orchestrator sheds load with 429 instead of collapsing."""
    orch = runs.get(("steady", "orch"))
    if not orch:
        return [("p", "C9: the steady scenario did not run for the orchestrated variant.")]
    text = (f"In the steady ramp to {orch['users']} users the orchestrated variant shed "
            f"{orch['shed']} orders with 429 and had {orch['errors']} errors; POST p99 "
            f"{_fmt(orch['post'][99], 0)} ms.")
    if orch["shed"]:
        text += (" Shedding worked as the article's 'regulation of load' says: above "
                 "ORCH_MAX_IN_FLIGHT sagas in flight, new orders were refused at once.")
    else:
        text += (" No order was shed: the ramp's closed-loop users never held more than "
                 "ORCH_MAX_IN_FLIGHT (64) sagas in flight at once, so this run does not show the "
                 "429s (tests/integration/test_orchestrator_load_shedding.py does).")
    return [("p", text + " Self-healing: in the outage scenario every saga interrupted by the "
             "payments outage was resumed (see the C5 audit: no saga stuck, every order final).")]


def c10_scale_out(runs):
    """C10: a stateless orchestrator scales linearly with replicas."""
    lines = []
    consumers = config.consumer_threads()
    for variant, what in (("orch", "orchestrator replicas"),
                          ("choreo", f"workers per service ({consumers} -> {2 * consumers} "
                                     "consumers per queue)")):
        one, two = runs.get(("steady", variant)), runs.get(("scale-out", variant))
        if one and two and one["peak_per_s"]:
            ratio = two["peak_per_s"] / one["peak_per_s"]
            beyond = spread.compare(spread.values(two, "peak_per_s"),
                                    spread.values(one, "peak_per_s"))
            lines.append(f"- {variant}: peak {spread.text(one, 'peak_per_s')} finished orders/s "
                         f"with 1, {spread.text(two, 'peak_per_s')} with 2 {what}: x{ratio:.2f} "
                         f"(linear: x2), {_scaling(ratio, beyond)}; 429s {one['shed']} -> "
                         f"{two['shed']}.")
    if not lines:
        return [("p", "C10: the steady and scale-out scenarios did not both run.")]
    return [("p", "\n".join(lines)),
            ("p", "C10 verdict: this machine cannot show linear scaling: a second replica gets "
                  "no core of its own, since every service, the broker and Locust already share "
                  "the 2 cores in the single-replica run. What a second orchestrator replica "
                  "changes here is admission (two in-flight bounds of ORCH_MAX_IN_FLIGHT, so "
                  "fewer 429s and more sagas competing for the same CPU) and a forward to the "
                  "shard owner for about half the sagas; a second worker per service doubles "
                  "the one-message-at-a-time consumers of every queue. A gain counts only "
                  "when it is larger than the runs' spread (DEMO_RUNS=3). Statelessness "
                  "itself is shown by the two replicas running together with every invariant "
                  "holding (the audit).")]


def _request_threads(variant, program_name):
    """Return the gunicorn request threads of one program, from the runner's process table."""
    program = next(p for p in processes.programs(variant) if p.name == program_name)
    return int(program.option("--threads"))


def _scaling(ratio, beyond):
    if beyond in (spread.ONE_RUN, spread.WITHIN_NOISE):
        return beyond
    if ratio >= 1.8:
        return "about linear"
    if ratio >= 1.1:
        return "a gain, sub-linear"
    if ratio >= 0.9:
        return "no gain"
    return "a loss"
