"""Command line of the native runner (see runner/__init__.py)."""
import argparse
import os
import signal
import sys
import threading

from shared import config
from runner import broker as broker_mod
from runner import health, logtail, processes, reset, supervisor


def environment(variant):
    """Return the environment every program of the variant starts with."""
    root = config.repo_root()
    return {"VARIANT": variant, "VAR_DIR": str(config.var_dir()),
            "PYTHONPATH": f"{root}{os.pathsep}{root / ('orders-' + variant)}",
            "PYTHONUNBUFFERED": "1"}


def up(args):
    """Start a variant, wait until healthy, print its URLs, and stop it all on SIGINT/SIGTERM."""
    folder = config.var_dir() / args.variant
    os.environ.update(environment(args.variant))
    programs = processes.programs(args.variant, args.replicas)
    _check_ports_free(programs)
    broker = None
    if args.variant == "choreo":
        broker = broker_mod.Broker(config.amqp_url(), config.var_dir() / "rabbitmq")
        if broker.answers():
            print(f"runner: using the broker already answering at {broker.host}:{broker.port}")
            broker = None
        else:
            print(f"runner: starting RabbitMQ on {broker.host}:{broker.port} ...", flush=True)
            broker.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    services = supervisor.Supervisor(folder, programs)
    try:
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
        if broker_stop:
            broker_stop.join()
        print("runner: stopped", flush=True)


def _check_ports_free(programs):
    for program in programs:
        if program.port and not health.port_free(program.port):
            raise SystemExit(f"runner: port {program.port} ({program.name}) is already in use. "
                             "Is this variant, or an earlier run of it, still running? "
                             "Stop it first, or move the port (see the README's configuration).")


def _print_ready(variant, urls, broker):
    lines = [f"runner: {variant} is up"] + [f"  {name:<22} {url}" for name, url in urls.items()]
    if variant == "choreo":
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
    for name in ("stop-service", "start-service"):
        p = sub.add_parser(name, help=f"{name.split('-')[0]} one program of a running variant")
        p.add_argument("variant", choices=sorted(processes.VARIANTS))
        p.add_argument("program", help="e.g. payments-worker")
    p_status = sub.add_parser("status", help="list the programs of a running variant")
    p_status.add_argument("variant", choices=sorted(processes.VARIANTS))
    p_reset = sub.add_parser("reset", help="restore catalog stock and clear a variant's data")
    p_reset.add_argument("variant", choices=sorted(processes.VARIANTS))
    args = parser.parse_args(argv)
    if args.command == "up":
        up(args)
    elif args.command == "stop-service":
        control(args, "stop")
    elif args.command == "start-service":
        control(args, "start")
    elif args.command == "status":
        status(args)
    else:
        os.environ.update(environment(args.variant))
        reset.reset(args.variant)


if __name__ == "__main__":
    sys.exit(main())
