"""Command line of the audit: wait until quiet, check every invariant once, exit 1 on any violation.

    python -m audit --variant choreo                          (`make audit VARIANT=choreo`)
    python -m audit --variant choreo --ledger ledger.jsonl    (`make audit LEDGER=...`)

With a client's ledger (audit/ledger.py) it also checks what only the client knows: every
accepted order exists once and is final, one order per key, no order nobody asked for, and
each order ended the way its body asked. Without one it says so and checks what it can.
"""
import argparse
import sys
import time

import requests
from pika.exceptions import AMQPError

from shared.runtime import config
from audit import extras, ledger as ledgers, quiet
from audit.fetch import snapshot
from audit.invariants import audit

SERVICES = ("orders", "inventory", "payments", "shipping", "notifications")
NO_LEDGER = ("client ledger", {"ledger": "none: only the orders that exist were checked"}, [])


def service_urls(variant):
    """Return the base URL of each service of a variant (ports from the environment)."""
    return {s: config.service_url(s, variant) for s in SERVICES}


def variant_audit(variant, urls, ledger=None, amqp_url=None, orchestrator_url=None):
    """Return (results, listings) of one snapshot: the invariants, the dead letters (choreo) or
    stuck sagas (orch) as one more result, the ledger's checks (or NO_LEDGER)."""
    snap = snapshot(urls)
    results = audit(snap)
    if variant == "choreo":
        *result, listing = extras.dead_letters(amqp_url or config.amqp_url())
    else:
        *result, listing = extras.stuck_sagas(orchestrator_url or config.orchestrator_urls()[0])
    results.append(tuple(result))
    if ledger is None:
        results.append(NO_LEDGER)
    else:
        results += ledgers.checks(*ledgers.read(ledger), snap)
    return results, {result[0]: listing}


def audit_when_quiet(variant, urls, timeout_s, ledger=None, amqp_url=None,
                     orchestrator_url=None):
    """Wait until the variant is quiet (audit/quiet.py), then audit ONE snapshot.

    Returns (results, listings); "quiet before the audit" is violated when the timeout passed
    with work still going on (the snapshot was then read anyway, to show what it found)."""
    where = {"amqp_url": amqp_url or (config.amqp_url() if variant == "choreo" else None),
             "orchestrator_url": orchestrator_url or (config.orchestrator_urls()[0]
                                                      if variant == "orch" else None)}
    still_busy = quiet.wait_quiet(variant, urls, timeout_s, **where)
    quiet_result = ("quiet before the audit", {"waited up to s": timeout_s}, still_busy)
    for attempt in range(10):
        try:
            results, listings = variant_audit(variant, urls, ledger, **where)
            return [quiet_result] + results, listings
        except (requests.RequestException, AMQPError) as exc:  # a service still restarting
            if attempt == 9:
                return [quiet_result, ("every service answers", {}, [repr(exc)])], {}
            time.sleep(1)


def report_listings(listings, out=sys.stdout):
    """Print the dead letters or stuck sagas found (up to 20 of each)."""
    for name, lines in listings.items():
        out.write(f"listed for {name!r}: {len(lines)}\n")
        for line in lines[:20]:
            out.write(f"    * {line}\n")


def report(results, out=sys.stdout):
    """Print each invariant with its counts and violations; return True when all hold."""
    ok = True
    for name, counts, violations in results:
        verdict = "ok" if not violations else f"VIOLATED ({len(violations)})"
        out.write(f"{verdict:<16} {name:<36} {counts}\n")
        for line in violations[:20]:
            out.write(f"    - {line}\n")
        ok = ok and not violations
    return ok


def main(argv=None):
    """Parse arguments, audit, and exit 0 only when every invariant holds."""
    parser = argparse.ArgumentParser(prog="python -m audit")
    parser.add_argument("--variant", choices=("choreo", "orch"), default=config.variant())
    parser.add_argument("--wait", type=float, default=30,
                        help="seconds to wait for the variant to be quiet before auditing")
    parser.add_argument("--ledger", default=None,
                        help="a client's ledger (JSON lines, see audit/ledger.py)")
    args = parser.parse_args(argv)
    results, listings = audit_when_quiet(args.variant, service_urls(args.variant), args.wait,
                                         ledger=args.ledger or None)
    report_listings(listings)
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
