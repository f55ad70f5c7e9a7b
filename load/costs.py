"""Claim C8 split by cost, from three variants: what of orchestration's cost comes from having
a coordinator, what from HTTP, what from waiting.

- choreo against orch-amqp: both on RabbitMQ, so their difference is the coordinator: its
  messages per step (a command and a reply where choreography sends one event) and its saga log;
- orch-amqp against orch: the same orchestrator, saga and saga log, so their difference is
  the transport: HTTP round trips, each holding a thread while it waits, against messages;
- with payments made slow (the slow-dependency scenario), waiting: whether a variant's rate
  was set by payments' concurrency, or its orchestrator shed orders at its in-flight bound.

As in load/claims.py, a sentence names a cause only beside the run's figure that shows it (the
orchestrator's own CPU, the broker's, 429s, payments' ceiling); where no figure shows one, the
sentence gives the figures and says so. Steady and slow-dependency, each when all three ran.
"""
from load import floor, observed, spread

THREE = ("choreo", "orch-amqp", "orch")
SCENARIOS = ("steady", "slow-dependency")


def split(runs):
    """Return one paragraph per scenario that ran on all three variants."""
    said = [("p", _scenario(name, {v: runs[(name, v)] for v in THREE}))
            for name in SCENARIOS if all(runs.get((name, v)) for v in THREE)]
    return said or [("p", "C8 split by cost: it needs the steady or the slow-dependency "
                          "scenario on all three variants (choreo, orch-amqp, orch); this "
                          "report does not have them.")]


def _scenario(name, found):
    parts = [f"C8 split by cost, {name}: " + _figures(found),
             _coordinator(found["choreo"], found["orch-amqp"]),
             _transport(found["orch-amqp"], found["orch"])]
    if name == "slow-dependency":
        parts.append(_waiting(found))
    return " ".join(parts)


def _figures(found):
    return "; ".join(f"{v} {s['finished_per_s']:.1f} finished orders/s, "
                     f"{_ms(s.get('cpu_ms_per_order'))} CPU-ms per order, completion p50 "
                     f"{_ms(s['final'][50])} ms" for v, s in found.items()) + "."


def _ms(value):
    return "-" if value is None else f"{value:.0f}"


def per_order(summary, picked):
    """Return the CPU-ms per order of the programs whose name `picked` accepts (None: none)."""
    orders = sum((summary.get("orders") or {}).values())
    used = [s for who, s in (summary.get("cpu_s") or {}).items() if picked(who)]
    return sum(used) * 1000 / orders if used and orders else None


def _rate(first, second, a, b):
    """Say how two variants' finished rates compare; only a gap beyond the spread decides."""
    outcome = spread.compare(spread.values(a, "finished_per_s"),
                             spread.values(b, "finished_per_s"))
    if outcome in (spread.HIGHER, spread.LOWER):
        return (f"{first} finished {'more' if outcome == spread.HIGHER else 'fewer'} orders "
                f"per second than {second}")
    if a["finished_per_s"] < b["finished_per_s"]:
        return f"{first} finished fewer orders per second than {second} ({outcome})"
    return f"{first} finished at least as many orders per second as {second} ({outcome})"


def _extra(a, b):
    """Return a's CPU-ms per order minus b's, None when either is missing."""
    if a.get("cpu_ms_per_order") is None or b.get("cpu_ms_per_order") is None:
        return None
    return a["cpu_ms_per_order"] - b["cpu_ms_per_order"]


def _coordinator(choreo, amqp):
    """choreo against orch-amqp: one broker for both, so what differs is the coordinator."""
    head = ("Coordinator (choreo against orch-amqp, both on RabbitMQ): "
            + _rate("orch-amqp", "choreo", amqp, choreo))
    extra = _extra(amqp, choreo)
    if extra is None:
        return head + "; the runs have no CPU per order to compare."
    if extra <= 0:
        return (head + f"; orch-amqp spent no more CPU per order than choreo "
                f"({_ms(amqp['cpu_ms_per_order'])} against {_ms(choreo['cpu_ms_per_order'])} "
                "ms): the coordinator's cost does not show in this run's CPU.")
    return head + f"; orch-amqp spent {extra:.0f} CPU-ms more per order" + "".join(
        _orchestrator_part(amqp) + _broker_part(choreo, amqp)) + "."


def _orchestrator_part(amqp):
    own = per_order(amqp, lambda who: who.startswith("orchestrator"))
    if not own:
        return []
    return [f", of which its orchestrator used {own:.0f} (a program choreography does not "
            "have: the saga log's writes, each command sent and each reply applied)"]


def _broker_part(choreo, amqp):
    """Say that the broker worked harder for orch-amqp, when its CPU per order shows it."""
    mine, theirs = (per_order(s, lambda who: who == "broker") for s in (amqp, choreo))
    if not (mine and theirs and mine > theirs):
        return []
    (sent, _), (events, _) = floor.PATHS["orch-amqp"], floor.PATHS["choreo"]
    return [f"; the broker used {mine:.0f} CPU-ms per order against choreo's {theirs:.0f}, "
            f"carrying {sent} messages per completed order against {events} (a command and "
            "a reply per step where choreography sends one event; load/floor.py PATHS)"]


def _transport(amqp, http):
    """orch against orch-amqp: the same orchestrator and saga, so what differs is the transport."""
    head = ("Transport (orch against orch-amqp, the same orchestrator and saga log): "
            + _rate("orch", "orch-amqp", http, amqp))
    extra = _extra(http, amqp)
    if extra is None:
        return head + "; the runs have no CPU per order to compare."
    figures = f"({_ms(http['cpu_ms_per_order'])} against {_ms(amqp['cpu_ms_per_order'])} ms"
    if extra > 0:
        return (head + f"; over HTTP the saga cost {extra:.0f} CPU-ms more per order "
                f"{figures}, the broker counted in orch-amqp's).")
    broker = per_order(amqp, lambda who: who == "broker")
    return (head + f"; over HTTP the saga cost {-extra:.0f} CPU-ms less per order {figures}"
            + (f"; orch-amqp's broker alone used {broker:.0f}" if broker else "")
            + "): its messages cost more than the HTTP round trips they replace.")


def _waiting(found):
    """With payments slow: name a variant whose rate payments' concurrency set, or that shed."""
    latency = int((found["orch"].get("env") or {}).get("PAYMENTS_FAULT_LATENCY_MS") or 0)
    if not latency:
        return "Waiting: this run did not make payments slower, so it shows no waiting."
    waited = []
    for variant, s in found.items():
        ceiling = observed.payments_ceiling(s)
        if ceiling and ceiling["share"] >= observed.CEILING_SHARE:
            waited.append(f"{variant} finished {ceiling['share']:.0%} of the "
                          f"{ceiling['per_s']:.0f} payments a second its concurrency allows")
        if variant != "choreo" and s["shed"]:
            waited.append(f"{variant} shed {s['shed']} orders with 429 at its in-flight bound")
    if waited:
        return (f"Waiting (payments {latency} ms slower): " + "; ".join(waited)
                + ": there the orders waited on payments.")
    return (f"Waiting (payments {latency} ms slower): no variant came within "
            f"{observed.CEILING_SHARE:.0%} of the payments a second its concurrency allows and "
            "no orchestrator shed an order, so these figures do not show waiting as what set a "
            "variant's rate.")
