"""`make trace-cost`: what tracing costs in CPU, measured by draining orders with it on and off.

    python -m scripts.trace_cost [--orders 500] [--threads 16] [--variant choreo|orch|both]

For each variant, twice (OTEL_SDK_DISABLED=true, then tracing on as by default): start it with
the runner on moved ports, post the orders from client threads, wait until every one is final,
and add up the CPU time (user + system, psutil) of every process the runner supervises,
gunicorn's workers included, over the drain. The broker and this script are not counted.
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


def measure(variant, tracing_on, count, threads):
    """Start the variant, drain the orders, stop it; return (CPU ms per order, seconds)."""
    env = moved_ports(variant, PORT_OFFSET)
    env.update(AMQP_URL=AMQP_URL, OTEL_SDK_DISABLED="false" if tracing_on else "true")
    running = RunningVariant(variant, ROOT / "var" / f"trace-cost-{variant}", env)
    running.start()
    try:
        time.sleep(3)  # let start-up CPU settle
        procs = processes(running)
        before = cpu_s(procs)
        took = drain(running, count, threads)
        time.sleep(1)  # the last spans and tracker events
        after = cpu_s(procs)
    finally:
        running.stop()
    used = sum(after[pid] - before.get(pid, 0.0) for pid in after)
    return used * 1000 / count, took


def main(argv=None):
    """Measure each variant with tracing off and on, and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--variant", choices=["choreo", "orch", "both"], default="both")
    args = parser.parse_args(argv)
    from runner.broker import Broker
    broker = Broker(AMQP_URL, ROOT / "var" / "trace-cost-broker")
    variants = ["choreo", "orch"] if args.variant == "both" else [args.variant]
    if "choreo" in variants and not broker.answers():
        broker.start()
    line, figures = report.machine(), {}
    try:
        print(f"{'variant':<8} {'tracing':<8} {'CPU ms/order':>12} {'drain s':>8}")
        for variant in variants:
            for tracing_on in (False, True):
                per_order, took = measure(variant, tracing_on, args.orders, args.threads)
                state = "on" if tracing_on else "off"
                figures.setdefault(variant, {})[state] = {"cpu_ms_per_order": round(per_order, 1),
                                                          "drain_s": round(took, 1)}
                print(f"{variant:<8} {state:<8} {per_order:>12.1f} {took:>8.1f}", flush=True)
    finally:
        broker.stop()
    _record(line, vars(args), figures)


def _record(line, settings, figures):
    """Write the run's record (the figures and their machine, date, commit) under reports/."""
    out = ROOT / "reports" / datetime.datetime.now().strftime("trace-cost-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    for numbers in figures.values():  # the cost, as the docs quote it
        if "off" in numbers and "on" in numbers:
            numbers["cost_ms"] = round(numbers["on"]["cpu_ms_per_order"]
                                       - numbers["off"]["cpu_ms_per_order"], 1)
    record.write(out, "trace-cost", line, settings, figures)
    print(f"record: {out / 'record.json'}")


if __name__ == "__main__":
    main()
