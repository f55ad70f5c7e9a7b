"""Faults a running variant can be put through from outside: kill -9 one program, or restart
one program with other environment settings (fault injection, teaching switches).

    python -m runner kill choreo payments-worker --restart-after 10
    python -m runner restart-with orch inventory-api INVENTORY_FAULT_LATENCY_MS=1500

Plumbing for the fault catalogue (`chaos/`), not the lesson. Both work through supervisord's
XML-RPC interface and its config file, so the rest of the variant keeps running.
"""
import os
import re
import signal
import time
import xmlrpc.client

from runner.supervisor import _escape, rpc

ENV_PAIR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def processes(folder, program):
    """Return supervisord's info for a program (`payments-worker`) or one of its processes
    (`payments-worker:payments-worker-1`)."""
    group, _, name = program.partition(":")
    return [info for info in rpc(folder).supervisor.getAllProcessInfo()
            if info["group"] == group and (not name or info["name"] == name)]


def kill(folder, program):
    """kill -9 the process group of every process of `program`; return the pids killed.
    supervisord notices the unexpected exit and restarts it at once (autorestart)."""
    killed = [info["pid"] for info in processes(folder, program) if info["pid"]]
    for pid in killed:
        try:
            os.killpg(pid, signal.SIGKILL)  # gunicorn's workers and the arbiter die together
        except ProcessLookupError:
            pass
    return killed


def hold_down(folder, program, killed, timeout_s=10):
    """Stop the respawn supervisord begins after a kill, so the program stays down."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(info["pid"] in killed for info in processes(folder, program)):
            break
        time.sleep(0.05)
    _call(rpc(folder).supervisor, "stop", program)


def start(folder, program):
    """Start a program (or one process) that is down."""
    _call(rpc(folder).supervisor, "start", program)


def kill_for(folder, program, restart_after_s=0.0):
    """kill -9 a program; with restart_after_s > 0 keep it down that long, then start it:
    a crash followed by a slow restart. Return the pids killed."""
    killed = kill(folder, program)
    if restart_after_s > 0:
        hold_down(folder, program, killed)
        time.sleep(restart_after_s)
        start(folder, program)
    return killed


def _call(api, action, program):
    """stop/start a program or one process, ignoring "already stopped/started"."""
    name = program if ":" in program else None
    try:
        if name:
            getattr(api, f"{action}Process")(name)
        else:
            getattr(api, f"{action}ProcessGroup")(program)
    except xmlrpc.client.Fault as fault:
        if "NOT_RUNNING" not in fault.faultString and "ALREADY_STARTED" not in fault.faultString:
            raise


def restart_with(folder, program, settings):
    """Restart one program (a whole group) with `settings` added to its environment
    (an empty value removes a setting); the other programs keep running."""
    path = folder / "supervisord.conf"
    path.write_text(_with_settings(path.read_text(), program, settings))
    api = rpc(folder).supervisor
    api.reloadConfig()
    _call(api, "stop", program)
    api.removeProcessGroup(program)
    api.addProcessGroup(program)  # autostart=true: starts it with the new environment


def _with_settings(text, program, settings):
    lines, section = text.splitlines(), None
    for i, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip("[]")
        elif section == f"program:{program}" and line.startswith("environment="):
            env = dict(ENV_PAIR.findall(line.removeprefix("environment=")))
            env.update({k: _escape(v) for k, v in settings.items()})
            lines[i] = "environment=" + ",".join(f'{k}="{v}"' for k, v in env.items() if v)
    return "\n".join(lines) + "\n"


def main(args, folder):
    """Run the `kill` or `restart-with` subcommand of `python -m runner`."""
    if args.command == "kill":
        pids = kill_for(folder, args.program, args.restart_after)
        print(f"runner: kill -9 {args.program} (pids {pids}): done")
    else:
        restart_with(folder, args.program, dict(s.split("=", 1) for s in args.settings))
        print(f"runner: {args.program} restarted with {' '.join(args.settings) or 'no changes'}")
