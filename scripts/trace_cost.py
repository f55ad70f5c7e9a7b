"""`make trace-cost`: what tracing costs in CPU, measured by draining orders with it on and off.

    python -m scripts.trace_cost [--orders 500] [--threads 16] [--rounds 3]
                                 [--variant choreo|orch|orch-amqp|all]

In each round, for each variant (all three by default: choreo, orch over HTTP and orch over
RabbitMQ, load/variant.py), once with tracing off (OTEL_SDK_DISABLED=true) and once on (the
default), in turn: start it with the runner on moved ports, post the orders from client
threads, wait until every one is final, and add up the CPU time (user + system, psutil) of
every process the runner supervises, gunicorn's workers included, over the drain. The broker
and this script are not counted: the broker carries a traced message's headers as any other.
With tracing on it also counts the spans the drain wrote to the variant's trace file, per
order: what the CPU pays for. The cost is each round's "on" minus its "off": the median of
the rounds, with the lowest and highest.
It writes reports/trace-cost-<timestamp>/record.json (load/record.py), which
`make publish-run REPORT=reports/trace-cost-<timestamp>` publishes for the docs.
"""
import argparse
import datetime
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import requests

from load import record, report
from load.variant import NAMES, kind
from tests.support import ROOT, RunningVariant, moved_ports, order, wait_final

PORT_OFFSET = 30000
AMQP_URL = "amqp://guest:guest@127.0.0.1:5675/%2F"


def processes(running):
    """Return every process of the running variant (supervised programs and their children)."""
    found = []
    for pid in running.pids():
        try:
            parent = psutil.Process(pid)
            found += [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return found


def cpu_s(procs):
    """Return the CPU seconds used so far by these processes, keyed by pid."""
    seconds = {}
    for proc in procs:
        try:
            times = proc.cpu_times()
            seconds[proc.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return seconds


def drain(running, count, threads):
    """Post `count` orders from `threads` threads and wait for each to be final; return seconds."""
    local = threading.local()

    def one(i):
        if not hasattr(local, "http"):
            local.http = requests.Session()
        body = order("MUG-RED", 1, customer=f"cost-{i % 50}")
        placed = local.http.post(f"{running.url('orders')}/orders", json=body, timeout=60)
        if placed.status_code == 429:
            time.sleep(1)
            return one(i)
        wait_final(local.http, running.url("orders"), placed.json()["order_id"], timeout=300)

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(count)))
    return time.monotonic() - started


def settings(variant, tracing_on):
    """Return the environment that starts `variant` (a name of load/variant.py: its style's
    programs with its settings, e.g. ORCH_TRANSPORT=amqp) on moved ports, tracing on or off."""
    env = moved_ports(kind(variant).style, PORT_OFFSET)
    env.update(kind(variant).env, AMQP_URL=AMQP_URL,
               OTEL_SDK_DISABLED="false" if tracing_on else "true")
    return env


def spans_written(running):
    """Return how many spans the running variant has written to its trace file so far."""
    trace_file = running.var_dir / running.variant / "traces.jsonl"  # config.trace_file()
    if not trace_file.exists():
        return 0
    with trace_file.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


def measure(variant, tracing_on, count, threads):
    """Start the variant, drain the orders, stop it; return (CPU ms per order, seconds, spans
    per order), the spans None with tracing off."""
    running = RunningVariant(kind(variant).style, ROOT / "var" / f"trace-cost-{variant}",
                             settings(variant, tracing_on))
    running.start()
    try:
        time.sleep(3)  # let start-up CPU settle
        procs = processes(running)
        before, spans_before = cpu_s(procs), spans_written(running)
        took = drain(running, count, threads)
        time.sleep(1)  # the last spans (written every OTEL_BSP_SCHEDULE_DELAY) and tracker events
        after, spans_after = cpu_s(procs), spans_written(running)
    finally:
        running.stop()
    used = sum(after[pid] - before.get(pid, 0.0) for pid in after)
    spans = (spans_after - spans_before) / count if tracing_on else None
    return used * 1000 / count, took, spans


def main(argv=None):
    """Measure each variant with tracing off and on, round after round, and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each setting")
    parser.add_argument("--variant", choices=[*NAMES, "all"], default="all")
    args = parser.parse_args(argv)
    from runner.broker import Broker
    broker = Broker(AMQP_URL, ROOT / "var" / "trace-cost-broker")
    variants = list(NAMES) if args.variant == "all" else [args.variant]
    if any(kind(variant).broker for variant in variants) and not broker.answers():
        broker.start()
    line, measured = report.machine(), {}
    try:
        print(f"{'round':<6} {'variant':<10} {'tracing':<8} {'CPU ms/order':>12} {'drain s':>8} "
              f"{'spans/order':>11}")
        for number in range(1, args.rounds + 1):
            # Trade-off 110: the two settings take turns, off first in odd rounds and on first
            # in even ones, so a machine that slows down during a round slows both alike; one
            # drain of each, once, gave orchestration a cost of -6.8 in one run and +32.1 in
            # another (the README's table of 10:00-10:07). The cost: a round takes two
            # start-ups and two drains per variant, about a minute, and the cost is only as
            # sure as the spread of the rounds, which the table prints.
            for variant in variants:
                for tracing_on in (False, True) if number % 2 else (True, False):
                    per_order, took, spans = measure(variant, tracing_on, args.orders,
                                                     args.threads)
                    state = "on" if tracing_on else "off"
                    runs = measured.setdefault(variant, {"off": [], "on": [], "spans": []})
                    runs[state].append((per_order, took))
                    if spans is not None:
                        runs["spans"].append(spans)
                    print(f"{number:<6} {variant:<10} {state:<8} {per_order:>12.1f} "
                          f"{took:>8.1f} {'' if spans is None else f'{spans:.1f}':>11}",
                          flush=True)
    finally:
        broker.stop()
    _record(line, vars(args), figures(measured))


def figures(measured):
    """Return each variant's CPU-ms per order and drain seconds with tracing off and on (the
    median of the rounds and their spread), the cost: each round's on minus its off, and the
    spans per order of the traced drains."""
    made = {}
    for variant, runs in measured.items():
        made[variant] = {state: {"cpu_ms_per_order": record.spread([cpu for cpu, _ in pairs]),
                                 "drain_s": record.spread([took for _, took in pairs])}
                         for state, pairs in runs.items() if state in ("off", "on") and pairs}
        paired = list(zip(runs["on"], runs["off"]))  # a round cut short has no pair
        if paired:
            made[variant]["cost_ms"] = record.spread([on - off for (on, _), (off, _) in paired])
        if runs.get("spans"):
            made[variant]["spans_per_order"] = record.spread(runs["spans"])
    return made


def _record(line, settings, figures):
    """Write the run's record (the figures and their machine, date, commit) under reports/."""
    out = ROOT / "reports" / datetime.datetime.now().strftime("trace-cost-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    record.write(out, "trace-cost", line, settings, figures)
    print(f"record: {out / 'record.json'}")


if __name__ == "__main__":
    main()
