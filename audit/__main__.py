"""Command line of the audit: wait for quiet, check every invariant, exit 1 on any violation."""
import argparse
import sys
import time

import requests
from pika.exceptions import AMQPError

from shared import config
from audit import extras
from audit.fetch import snapshot
from audit.invariants import audit

SERVICES = ("orders", "inventory", "payments", "shipping", "notifications")


def service_urls(variant):
    """Return the base URL of each service of a variant (ports from the environment)."""
    return {s: config.service_url(s, variant) for s in SERVICES}


def audit_when_quiet(urls, timeout_s):
    """Audit again and again until every invariant holds or the timeout passes: the system
    is eventually consistent, so a violation only counts once it has had time to settle."""
    deadline = time.monotonic() + timeout_s
    while True:
        results = audit(snapshot(urls))
        if all(not violations for _, _, violations in results) or time.monotonic() > deadline:
            return results
        time.sleep(0.5)


def variant_audit(variant, urls, amqp_url=None, orchestrator_url=None):
    """Return (results, listings): the invariants, plus dead letters (choreo) or stuck sagas
    (orch) as one more result each, and what to list about them."""
    results = audit(snapshot(urls))
    if variant == "choreo":
        *result, listing = extras.dead_letters(amqp_url or config.amqp_url())
    else:
        *result, listing = extras.stuck_sagas(orchestrator_url or config.orchestrator_urls()[0])
    return results + [tuple(result)], {result[0]: listing}


def variant_audit_when_quiet(variant, urls, timeout_s, **where):
    """Like audit_when_quiet, with the dead letters or stuck sagas of variant_audit."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            results, listings = variant_audit(variant, urls, **where)
        except (requests.RequestException, AMQPError) as exc:  # a service still restarting
            if time.monotonic() > deadline:
                raise
            results, listings = [("every service answers", {}, [repr(exc)])], {}
        if all(not violations for _, _, violations in results) or time.monotonic() > deadline:
            return results, listings
        time.sleep(0.5)


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
                        help="seconds to let the system settle before a violation counts")
    args = parser.parse_args(argv)
    results, listings = variant_audit_when_quiet(args.variant, service_urls(args.variant),
                                                 args.wait)
    report_listings(listings)
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
