"""Command line of the native runner (see runner/__init__.py)."""
import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading

from shared.runtime import config
from runner import broker as broker_mod
from runner import postgres as postgres_mod
from runner import budgets as budgets_mod
from runner import chaos_control, health, logtail, processes, reset, supervisor


DATABASES = ("sqlite", "postgres")


def environment(variant):
    """Return the environment every program of the variant starts with."""
    root = config.repo_root()
    return {"VARIANT": variant, "VAR_DIR": str(config.var_dir()),
            "PYTHONPATH": f"{root}{os.pathsep}{root / ('orders-' + variant)}",
            "PYTHONUNBUFFERED": "1"}


def service_token():
    """Return SERVICE_TOKEN when it is set, else a new random one for this run.

    The runner puts it in its own environment before it starts supervisord, so every program,
    and every restart of one (start-service, restart-with, kill), inherits the same token from
    supervisord; it is never written to supervisord.conf or anywhere else on disk."""
    # Trade-off 57: a fresh random token per run, held only in the processes' environment:
    # no secret to leak from a file, and none shared between runs. The cost: a person who
    # wants to call an internal command by hand must choose the token (SERVICE_TOKEN=...)
    # before `up`, and a new run (with another token) cannot talk to the old one's programs.
    return config.service_token() or secrets.token_urlsafe(32)


def up(args):
    """Start a variant in its CPU budgets (if any), and remove them once everything stopped."""
    budgets, reason = budgets_mod.for_run(args.budget, f"{args.variant}-{os.getpid()}")
    print(f"runner: CPU budgets: {budgets.mode}" if budgets else
          f"runner: no CPU budgets ({reason})", flush=True)
    try:
        _up(args, budgets, reason)
    finally:
        if budgets:  # after every process of the run is gone
            budgets.remove()


def _up(args, budgets, reason):
    """Start a variant, wait until healthy, print its URLs, and stop it all on SIGINT/SIGTERM."""
    folder = config.var_dir() / args.variant
    os.environ.update(environment(args.variant), SERVICE_TOKEN=service_token())
    programs = processes.programs(args.variant, args.replicas)
    _check_ports_free(programs)
    broker = None
    if needs_broker(args.variant):
        broker = broker_mod.Broker(config.amqp_url(), config.var_dir() / "rabbitmq")
        if broker.answers():
            print(f"runner: using the broker already answering at {broker.host}:{broker.port}")
            broker = None
        else:
            print(f"runner: starting RabbitMQ on {broker.host}:{broker.port} ...", flush=True)
            broker.join = _budget(budgets, "broker", config.budget_broker_cores())
            broker.start()
    database = postgres_mod.prepare(
        args.variant, lambda: _budget(budgets, "database", config.budget_db_cores())
    ) if args.db == "postgres" else None
    if args.fresh:  # a PostgreSQL database outlives the run, unlike var/<variant>'s SQLite files
        reset.reset(args.variant)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    services = supervisor.Supervisor(folder, programs, _budget_programs(budgets, programs))
    _write_budget(folder, budgets, reason)
    try:
        if needs_broker(args.variant):
            declare_topology(args.variant, args.replicas)  # topology before work
        print("runner: starting the programs", flush=True)
        services.start()
        logtail.follow(folder / "logs", stop)
        urls = {p.name: f"http://127.0.0.1:{p.port}" for p in programs if p.port}
        health.wait_healthy(urls.values(), alive=lambda: services.alive() and not stop.is_set())
        _print_ready(args.variant, urls, broker)
        while not stop.wait(0.5) and services.alive():
            pass
    finally:
        print("runner: stopping ...", flush=True)
        stop.set()
        # The services and the broker stop in parallel: together within 10 s.
        broker_stop = threading.Thread(target=broker.stop) if broker else None
        if broker_stop:
            broker_stop.start()
        services.stop()
        if database:  # after the services, which hold connections to it
            database.stop()
        if broker_stop:
            broker_stop.join()
        print("runner: stopped", flush=True)


def _budget(budgets, who, cores):
    """Create who's group with `cores`; return the command prefix that joins it ([]: none)."""
    if not budgets:
        return []
    budgets.create(who, cores)
    return budgets.join_command(who)


def _budget_programs(budgets, programs):
    """Give every process of every program a group of its cores (program_cores); return
    supervisor's `join`."""
    # Trade-off 73: a quota per program simulates a cluster of small machines: one program
    # cannot take another's CPU, so a replica adds capacity you can see (its own quarter core)
    # instead of more contention for the same two cores. The cost: the kernel enforces a quota
    # per 100 ms period, so a saturated program is stopped for the rest of a period, all its
    # threads at once: its tail latency grows by up to that pause, and a thread stopped while
    # it holds a lease, a lock or a database transaction makes everyone waiting on it wait too
    # (work can be wasted: a lease may expire and its saga be driven again elsewhere).
    if not budgets:
        return None
    for program in programs:
        for who in process_names(program):
            budgets.create(who, program_cores(program))
    # numprocs > 1: supervisord fills in each replica's number, so each has its own group.
    return lambda program: budgets.join_command(
        program.name + ("-%(process_num)d" if program.numprocs > 1 else ""))


def program_cores(program):
    """Return a program's quota: BUDGET_CORES, but the orders API's two gunicorn workers are
    two small machines (BUDGET_ORDERS_API_CORES), like two replicas of anything else."""
    return config.budget_orders_api_cores() if program.name == "orders-api" \
        else config.budget_cores()


def process_names(program):
    """Return supervisord's name of each process of a program (`payments-worker-1`)."""
    if program.numprocs == 1:
        return [program.name]
    return [f"{program.name}-{number}" for number in range(program.numprocs)]


def _write_budget(folder, budgets, reason):
    """Write var/<variant>/budget.json: the mode and each group, for the load reports."""
    folder.mkdir(parents=True, exist_ok=True)
    facts = budgets.facts() if budgets else {"mode": "off", "period_ms": 100, "cores": {},
                                             "groups": {}}
    (folder / "budget.json").write_text(json.dumps({**facts, "reason": reason}, indent=1))


def needs_broker(variant):
    """Return True when the variant's programs talk through RabbitMQ: the choreographed one,
    and the orchestrated one with ORCH_TRANSPORT=amqp (its commands and replies)."""
    return variant == "choreo" or config.orch_transport() == "amqp"


def declare_topology(variant="choreo", replicas=1):
    """Declare every exchange, queue, retry queue and binding before any program starts, so
    no event is published before its subscriber's queue exists (the same one-shot command a
    container deployment runs first); for the orchestrated variant, its command and reply
    queues (orders-orch/commands/amqp.py), run as the variant's programs run (its PYTHONPATH)."""
    module = "shared.messaging.topology" if variant == "choreo" else "commands.amqp"
    subprocess.run([sys.executable, "-m", module], check=True, timeout=120, cwd=config.repo_root(),
                   env={**os.environ, **environment(variant), "ORCH_REPLICAS": str(replicas)})
    print("runner: topology declared", flush=True)


def _check_ports_free(programs):
    for program in programs:
        if program.port and not health.port_free(program.port):
            raise SystemExit(f"runner: port {program.port} ({program.name}) is already in use. "
                             "Is this variant, or an earlier run of it, still running? "
                             "Stop it first, or move the port (see the README's configuration).")


def _print_ready(variant, urls, broker):
    lines = [f"runner: {variant} is up"] + [f"  {name:<22} {url}" for name, url in urls.items()]
    if needs_broker(variant):
        lines.append(f"  {'broker':<22} {config.amqp_url()}")
    lines.append("runner: press Ctrl-C to stop everything")
    print("\n".join(lines), flush=True)


def control(args, action):
    """Stop or start one program (`payments-worker`) or one replica (`payments-worker:payments-worker-1`)."""
    rpc = supervisor.rpc(config.var_dir() / args.variant).supervisor
    if ":" in args.program:
        getattr(rpc, f"{action}Process")(args.program)
    else:
        getattr(rpc, f"{action}ProcessGroup")(args.program)
    print(f"runner: {action} {args.program}: done")


def status(args):
    """Print each program's state."""
    rpc = supervisor.rpc(config.var_dir() / args.variant)
    for info in rpc.supervisor.getAllProcessInfo():
        print(f"{info['group']}:{info['name']:<24} {info['statename']:<10} pid {info['pid']}")


def main(argv=None):
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(prog="python -m runner")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start a variant and supervise it until Ctrl-C")
    p_up.add_argument("variant", choices=sorted(processes.VARIANTS))
    p_up.add_argument("--replicas", type=int, default=1)
    p_up.add_argument("--db", choices=DATABASES, default="sqlite",
                      help="postgres: a local PostgreSQL under var/postgres (see docs/deploy.md)")
    p_up.add_argument("--budget", choices=budgets_mod.MODES, default=config.budget_mode("off"),
                      help="a CPU quota per program (cgroups; see docs/performance.md); "
                           "default BUDGET, else off")
    p_up.add_argument("--fresh", action="store_true",
                      help="empty the variant's databases and queues first (what reset does)")
    for name in ("stop-service", "start-service"):
        p = sub.add_parser(name, help=f"{name.split('-')[0]} one program of a running variant")
        p.add_argument("variant", choices=sorted(processes.VARIANTS))
        p.add_argument("program", help="e.g. payments-worker")
    p_status = sub.add_parser("status", help="list the programs of a running variant")
    p_status.add_argument("variant", choices=sorted(processes.VARIANTS))
    p_kill = sub.add_parser("kill", help="kill -9 one program of a running variant")
    p_kill.add_argument("variant", choices=sorted(processes.VARIANTS))
    p_kill.add_argument("program", help="e.g. payments-worker or orchestrator-0")
    p_kill.add_argument("--restart-after", type=float, default=0.0,
                        help="seconds before it starts again (0: supervisord restarts it at once)")
    p_with = sub.add_parser("restart-with", help="restart one program with extra settings")
    p_with.add_argument("variant", choices=sorted(processes.VARIANTS))
    p_with.add_argument("program", help="e.g. inventory-api")
    p_with.add_argument("settings", nargs="*", help="NAME=VALUE, e.g. INVENTORY_FAULT_LATENCY_MS=500")
    p_reset = sub.add_parser("reset", help="restore catalog stock and clear a variant's data")
    p_reset.add_argument("variant", choices=sorted(processes.VARIANTS))
    p_reset.add_argument("--db", choices=DATABASES, default="sqlite")
    args = parser.parse_args(argv)
    if args.command == "up":
        up(args)
    elif args.command == "stop-service":
        control(args, "stop")
    elif args.command == "start-service":
        control(args, "start")
    elif args.command == "status":
        status(args)
    elif args.command in ("kill", "restart-with"):
        chaos_control.main(args, config.var_dir() / args.variant)
    else:
        os.environ.update(environment(args.variant))
        database = postgres_mod.prepare(args.variant) if args.db == "postgres" else None
        try:
            reset.reset(args.variant)
        finally:
            if database:
                database.stop()


if __name__ == "__main__":
    sys.exit(main())
