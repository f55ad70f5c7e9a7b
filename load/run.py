"""Run one scenario against one variant: start it, load it with Locust, sample it, audit it.

    start the variant (fresh data) -> start Locust headless and the sampler -> (outage: stop and
    start payments on time) -> Locust stops by itself -> wait until quiet -> audit -> stop

Locust writes every POST and its answer to the client's ledger (ledger.jsonl); the audit checks
it: every accepted order exists once, is final and ended as its body asked.
Everything a run leaves is in its folder: Locust's CSV and HTML, the samples, runner.log,
ledger.jsonl, run.json.
"""
import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import time


from audit import __main__ as audit_cli
from audit import quiet
from audit.fetch import snapshot
from audit.ledger import Ledger, read, tally
from load.budgets import meter_for
from load.sampler import Sampler, listener_pid
from load.scenarios import PAYMENTS_PROGRAM
from load.variant import BALANCED_WITHIN_S, ROOT, Variant, queues, style, uses_broker
from runner import processes
from runner.broker import Broker
from shared.runtime import config


def run(scenario, variant_name, folder, port_offset=0, amqp_url=None, log=print, harness=None):
    """Run `scenario` on one variant; return the run's facts (also written to run.json).
    `harness` (load/budgets.py): the CPU budget mode, and the groups of Locust and the broker."""
    folder.mkdir(parents=True, exist_ok=True)
    variant = Variant(variant_name, config.var_dir(), folder / "runner.log", port_offset,
                      amqp_url, scenario.replicas, scenario.env,
                      budget=harness.mode if harness else "off")
    log(f"  starting {variant_name} ({scenario.replicas} replica(s), {scenario.env or 'no faults'})")
    started = time.monotonic()
    variant.start()
    log(f"  up in {time.monotonic() - started:.0f} s; {scenario.users} users for {scenario.seconds} s")
    if scenario.replicas > 1 and style(variant_name) == "orch":
        took = variant.wait_balanced()
        log(f"  the {scenario.replicas} replicas lease their shares of the shards"
            + (f" after {took:.1f} s" if took is not None else
               f": NOT within {BALANCED_WITHIN_S} s; the load starts anyway (GET /shards)"))
    try:
        facts = _load_and_audit(scenario, variant, folder, amqp_url, log, harness)
    finally:
        started = time.monotonic()
        variant.stop()
        log(f"  stopped in {time.monotonic() - started:.0f} s")
    (folder / "run.json").write_text(json.dumps(facts, indent=1))
    return facts


def _load_and_audit(scenario, variant, folder, amqp_url, log, harness):
    broker = uses_broker(variant.name)  # then the broker is one of the variant's programs
    pids = {"broker": listener_pid(Broker(amqp_url, folder).port)} if broker else {}
    ledger = Ledger(folder / "ledger.jsonl", scope="")  # a fresh variant: every order is ours
    join = harness.join("locust", config.budget_load_cores()) if harness else []
    locust = _start_locust(scenario, variant, folder, ledger.path, join)
    sampler = Sampler(variant, amqp_url if broker else None,
                      {**{k: v for k, v in pids.items() if v}, "locust": locust.pid},
                      queues=queues(variant.name, scenario.replicas))
    meter = meter_for(variant, harness)
    sampler.start()
    meter.start()
    events = _drive(scenario, variant, locust, sampler, folder, log)
    drained_s = _wait_quiet(variant, amqp_url if broker else None,
                            timeout=max(60.0, 2 * scenario.seconds))
    load_cpu = sampler.cpu_seconds()
    budget = meter.stop(load_cpu)
    sampler.stop()
    log(f"  quiet {drained_s:.1f}s after the load stopped; auditing ...")
    verdict, text, orders = _placed_some(*_audit(variant, ledger.path), folder / "locust.log")
    counts = tally(read(ledger.path)[1], snapshot({s: variant.url(s) for s in config.SERVICES}))
    log(f"    ledger: {counts}")
    log("    " + text.strip().replace("\n", "\n    "))
    _write_samples(folder, sampler)
    return {"scenario": scenario.name, "variant": variant.name, "seconds": scenario.seconds,
            "users": scenario.users, "pacing": scenario.pacing, "replicas": scenario.replicas, "env": scenario.env,
            "outage": scenario.outage, "t0": sampler.started_wall, "events": events, "drained_s": drained_s,
            "cpu_s": load_cpu, "orders": orders, "ledger": counts, "audit_ok": verdict,
            "audit": text, "budget": budget, "concurrency": concurrency(variant.name, scenario.env),
            "machine_cores": os.cpu_count()}


def concurrency(variant_name, env):
    """Return the concurrency this run had, for the verdicts to state: the CONCURRENCY setting
    and what each service had of it: consumers per queue in every choreographed worker,
    request threads of an orchestrated service's API (payments'), or, over AMQP, the consumers
    of each orchestrated service's command queue (they take its work, not the threads)."""
    with _environment(env):  # the scenario's settings, as the runner gave them to the programs
        per_service = (config.consumer_threads() if uses_broker(variant_name) else
                       int(_program(variant_name, "payments-api").option("--threads")))
        return {"setting": config.concurrency(), "per_service": per_service}


def _program(variant_name, name):
    return next(p for p in processes.programs(style(variant_name)) if p.name == name)


@contextlib.contextmanager
def _environment(env):
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _start_locust(scenario, variant, folder, ledger_path, join=()):
    command = [*join, sys.executable, "-m", "locust", "-f", str(ROOT / "load" / "locustfile.py"),
               "--headless", "-u", str(scenario.users), "-r", f"{scenario.spawn_rate():.3f}",
               "-t", f"{max(round(scenario.seconds), 1)}s", "--host", variant.url("orders"),
               "--csv", str(folder / "locust"), "--csv-full-history",
               "--html", str(folder / "locust.html"), "--only-summary",
               "--pacing", str(scenario.pacing), "--ledger", str(ledger_path), "--skip-audit",
               "--variant", variant.style]
    env = dict(os.environ)
    with open(folder / "locust.log", "w") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _drive(scenario, variant, locust, sampler, folder, log):
    """Wait for Locust to finish; stop and start payments on time; print progress every 5 s.

    The outage is timed from the moment Locust starts its load (its stats history appears),
    not from its process start, which takes a few seconds of imports."""
    history, load_at, todo, events = folder / "locust_stats_history.csv", None, [], []
    if scenario.outage:
        program = PAYMENTS_PROGRAM[variant.style]
        todo = [(scenario.outage[0], "stop", program), (scenario.outage[1], "start", program)]
    next_progress = 5.0
    while locust.poll() is None:
        if load_at is None and history.exists():
            load_at = sampler.now()
        if load_at is not None and todo and sampler.now() - load_at >= todo[0][0]:
            events.append(_control(variant, sampler, *todo.pop(0)[1:], log))
        if load_at is not None and sampler.now() - load_at >= next_progress:
            log(f"    t={sampler.now() - load_at:5.1f}s {_progress(history)}")
            next_progress += 5.0
        if sampler.now() > scenario.seconds + 60:
            locust.kill()
        time.sleep(0.1)
    for _, action, program in todo:  # a run shorter than its outage still heals
        events.append(_control(variant, sampler, action, program, log))
    return events


def _control(variant, sampler, action, program, log):
    at = round(sampler.now(), 1)
    variant.control(action, program)
    log(f"    {action} {program} (took {sampler.now() - at:.1f}s)")
    return at, action, program


def _progress(history):
    """Return one line from the latest rows of Locust's stats history."""
    latest = {}
    try:
        with open(history) as handle:
            for row in csv.DictReader(handle):
                latest[row["Name"]] = row
    except OSError:
        return "starting"
    final, post = latest.get("order final", {}), latest.get("POST /orders", {})
    # `order final` is kept out of Aggregated (load/sagas_tab.py): its failures are added here.
    failures = sum(int(latest.get(name, {}).get("Total Failure Count", 0))
                   for name in ("Aggregated", "order final"))
    return (f"users {post.get('User Count', '0'):>3}  orders final {final.get('Total Request Count', 0):>5}"
            f"  errors {failures}  p95 POST {post.get('95%', '-')} ms, final "
            f"{final.get('95%', '-')} ms")


def _wait_quiet(variant, amqp_url, timeout):
    """Wait until quiet (no order PENDING, no saga unfinished, no unsent outbox row, every
    queue and retry queue empty of ready and unacked messages: audit/quiet.py); return the
    seconds it took."""
    started = time.monotonic()
    quiet.wait_quiet(variant.style, {s: variant.url(s) for s in config.SERVICES}, timeout,
                     **_where(variant, amqp_url))
    return time.monotonic() - started


def _where(variant, amqp_url=None):
    if variant.style == "choreo":
        return {"amqp_url": amqp_url or variant.env.get("AMQP_URL", config.amqp_url())}
    return {"orchestrator_url": variant.url("orchestrator")}


def _audit(variant, ledger_path):
    """Check docs/domain.md's invariants and the client's ledger through the inspection API.

    Return (ok, the printed verdict, {status: orders}) (the "every order final" counts)."""
    urls = {s: variant.url(s) for s in config.SERVICES}
    results, _ = audit_cli.audit_when_quiet(variant.style, urls, 30, ledger=ledger_path,
                                            **_where(variant))
    out = io.StringIO()
    counts = next((c for name, c, _ in results if name == "every order final"), {})
    return audit_cli.report(results, out), out.getvalue(), counts


def _placed_some(verdict, text, orders, load_log):
    """Fail the audit of a run that placed no order (all its users crashed, say): it checked
    nothing, so it proves nothing."""
    if sum(orders.values()):
        return verdict, text, orders
    return False, f"{text}FAILED: the run placed no order (the load's log: {load_log})\n", orders


def _write_samples(folder, sampler):
    for name, header, rows in (("cpu", ("t", "who", "cpu_s", "rss_mb"), sampler.cpu_rows),
                               ("queues", ("t", "queue", "depth"), sampler.depth_rows),
                               ("pending", ("t", "pending"), sampler.pending_rows)):
        with open(folder / f"samples_{name}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
