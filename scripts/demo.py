"""`make demo-quick`: start each variant in turn, place one order of each outcome, print what
happened.

    python -m scripts.demo [--variant choreo|orch|orch-amqp]

Each variant is started with the same runner `make up-<variant>` uses, on its default ports,
and stopped again at the end; orch-amqp is `make up-orch ORCH_TRANSPORT=amqp` (the same
programs and ports as orch, so the two run one after the other).
"""
import argparse
import os
import subprocess
import sys
import threading
import time

import requests

from load.variant import NAMES, kind
from shared.runtime import config
from tests.support import OUTCOMES, ROOT, wait_final

WAIT_UP_S = 180


def start(variant):
    """Start the runner for a variant and wait for its "is up" line; return the process."""
    programs = kind(variant)  # its programs (choreo or orch) and their settings (the transport)
    runner = subprocess.Popen([sys.executable, "-m", "runner", "up", programs.style], cwd=ROOT,
                              env={**os.environ, **programs.env}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + WAIT_UP_S
    for line in runner.stdout:
        if line.startswith("runner:"):
            print(f"  {line.rstrip()}", flush=True)
        if " is up" in line or time.monotonic() > deadline:
            break
    if runner.poll() is not None:
        how = " ".join([f"make up-{programs.style}",
                        *(f"{k}={v}" for k, v in programs.env.items())])
        raise SystemExit(f"the {variant} variant did not start; run `{how}` to see why")
    # Keep reading the services' log lines (unprinted) so the runner never blocks on a full pipe.
    threading.Thread(target=runner.stdout.read, daemon=True).start()
    return runner


def urls(variant):
    """Return the base URL of every service of a variant: orch-amqp's are orch's (one set of
    programs, two transports)."""
    return {s: config.service_url(s, kind(variant).style) for s in config.SERVICES}


def place_each_outcome(variant):
    """Place one order per outcome and print its final status and side effects."""
    base = urls(variant)
    print(f"\n  {'order':<22} {'POST':<5} {'final status':<12} {'reason':<22} "
          f"{'payment':<10} {'shipment':<9} notified  ms")
    with requests.Session() as http:
        for name, (body, _, _) in OUTCOMES.items():
            started = time.monotonic()
            response = http.post(f"{base['orders']}/orders", json=body, timeout=30)
            order = wait_final(http, base["orders"], response.json()["order_id"])
            took = (time.monotonic() - started) * 1000
            oid = order["order_id"]
            pay = http.get(f"{base['payments']}/payments?order_id={oid}", timeout=10).json()
            ship = http.get(f"{base['shipping']}/shipments?order_id={oid}", timeout=10).json()
            note = _notification(http, base, oid)
            print(f"  {name:<22} {response.status_code:<5} {order['status']:<12} "
                  f"{order['reason'] or '-':<22} "
                  f"{(pay['items'] or [{'status': '-'}])[0]['status']:<10} "
                  f"{(ship['items'] or [{'status': '-'}])[0]['status']:<9} "
                  f"{note:<9} {took:.0f}")
        print(f"\n  timeline of the last order: curl {base['orders']}/orders/{oid}/timeline")


def _notification(http, base, order_id):
    for _ in range(50):
        found = http.get(f"{base['notifications']}/notifications?order_id={order_id}",
                         timeout=10).json()["items"]
        if found:
            return found[0]["outcome"]
        time.sleep(0.1)
    return "-"


def main(argv=None):
    """Run the demo for the chosen variants."""
    parser = argparse.ArgumentParser(prog="python -m scripts.demo")
    parser.add_argument("--variant", choices=NAMES, action="append")
    variants = parser.parse_args(argv).variant or list(NAMES)
    for variant in variants:
        print(f"\n== {variant}: starting ...", flush=True)
        runner = start(variant)
        try:
            place_each_outcome(variant)
        finally:
            runner.terminate()
            runner.wait(timeout=30)
            print(f"== {variant}: stopped", flush=True)


if __name__ == "__main__":
    main()
