"""Command line of the fault catalogue.

    python -m chaos                                   every scenario, all three variants, then fuzz
    python -m chaos --variant both                    choreo and orch (HTTP) only
    python -m chaos --variant orch --scenario kill-payments
    python -m chaos --variant orch-amqp               the orchestrated variant, ORCH_TRANSPORT=amqp
    python -m chaos --teach TEACH_DISABLE_DEDUP       the switch's scenario: its audit must FAIL
    python -m chaos --fuzz-only --requests 1000       generated bad requests only (`make fuzz`)
    python -m chaos --db postgres                     the same on PostgreSQL, a database per service

Each variant is started once (two replicas, ports moved by 24000, var/chaos-<variant>/) and
the scenarios run against it one after another; the audit covers everything done so far.
"""
import argparse
import io
import signal
import sys

from chaos import fuzz, report
from chaos.run import run_scenario
from chaos.scenarios import SCENARIOS, names
from chaos.system import System
from runner.__main__ import DATABASES

# Each teaching switch, the variant and the scenario whose audit it makes fail.
TEACHING = {"TEACH_DISABLE_OUTBOX": ("choreo", "broker-restart"),
            "TEACH_DISABLE_DEDUP": ("choreo", "duplicates"),
            "TEACH_DISABLE_IDEMPOTENCY_KEYS": ("orch", "slow-inventory")}


def run_variant(variant, scenario_names, args, audit_text, env=None):
    """Start the variant, run the scenarios (and the fuzz), stop it; return the rows."""
    system, rows = System(variant, env=env, db=args.db), []
    system.start()
    try:
        for name in scenario_names:
            out = io.StringIO()
            rows.append(run_scenario(system, name, short=args.short,
                                     audit_s=args.audit_s, out=out))
            print(out.getvalue() + report.table(rows[-1:]), flush=True)
            audit_text.write(out.getvalue())
        if args.requests:
            rows.append(fuzz.run(system, args.requests))
            print(report.table(rows[-1:]), flush=True)
    finally:
        system.stop()
    return rows


# The names that stand for several variants; orch-amqp is orch with ORCH_TRANSPORT=amqp.
GROUPS = {"all": ("choreo", "orch", "orch-amqp"), "both": ("choreo", "orch")}


def main(argv=None):
    """Parse arguments, run, write the report; exit 0 when every row has its expected verdict."""
    parser = argparse.ArgumentParser(prog="python -m chaos")
    parser.add_argument("--variant", choices=("choreo", "orch", "orch-amqp", "both", "all"),
                        default="all", help="all: choreo, orch and orch-amqp; both: the first two")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--teach", choices=sorted(TEACHING))
    parser.add_argument("--db", choices=DATABASES, default="sqlite",
                        help="postgres: every service on its own database, as `runner up --db`")
    parser.add_argument("--short", action="store_true", help="the test suite's short version")
    parser.add_argument("--fuzz-only", action="store_true")
    parser.add_argument("--requests", type=int, default=None, help="generated bad requests")
    parser.add_argument("--audit-s", type=float, default=None, help="seconds to wait for quiet")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the variants are stopped
    audit_text, rows = io.StringIO(), []
    if args.teach:
        variant, name = TEACHING[args.teach]
        args.requests = 0
        rows = run_variant(variant, [name], args, audit_text, env={args.teach: "1"})
        rows[0].notes.insert(0, f"{args.teach}=1")
        ok = not rows[0].passed
        print(f"\n{args.teach}=1: the {name} audit "
              f"{'FAILS, as it must' if ok else 'PASSES: the switch shows nothing'}")
    else:
        if args.requests is None:
            args.requests = 0 if args.scenario else fuzz.LONG_RUN
        for variant in GROUPS.get(args.variant, (args.variant,)):
            chosen = [] if args.fuzz_only else (
                [args.scenario] if args.scenario else names(variant))
            if args.scenario and args.scenario not in names(variant):
                continue
            rows += run_variant(variant, chosen, args, audit_text)
        ok = bool(rows) and all(r.passed for r in rows)
    path = report.write(rows, audit_text.getvalue())
    print(f"\n{report.table(rows)}\n\nreport: {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
