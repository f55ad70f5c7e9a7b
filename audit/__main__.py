"""Command line of the audit: wait for quiet, check every invariant, exit 1 on any violation."""
import argparse
import sys
import time

from shared import config
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
    return 0 if report(audit_when_quiet(service_urls(args.variant), args.wait)) else 1


if __name__ == "__main__":
    sys.exit(main())
