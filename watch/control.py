"""The "break something" panel: stop, start, slow down or make flaky one service of a variant.

Each action is one command of the native runner (`python -m runner stop-service|start-service|
restart-with`), run exactly as you would run it in a terminal, and each answer shows the
`make` command that does the same, so nothing the page does is hidden behind it.

Plumbing, not the lesson: the guard that keeps these actions to this machine's own browser.
"""
import ipaddress
import subprocess
import sys

from shared.runtime import config

ACTIONS = ("stop", "start", "slow", "flaky", "heal")
SLOW_MS = 1000       # what "slow" adds to every unit of work of the service
FLAKY_RATE = 0.5     # the share of work "flaky" makes fail (a transient error, retried)


class Refused(Exception):
    """A request the control endpoint will not carry out; `status` is the HTTP answer."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def program(variant, service):
    """Return the program that does a service's work: the worker (choreo) or the API (orch)."""
    return f"{service}-worker" if variant == "choreo" else f"{service}-api"


def settings(action, service):
    """Return the environment settings an action restarts the program with."""
    prefix = service.upper()
    return {"slow": {f"{prefix}_FAULT_LATENCY_MS": str(SLOW_MS)},
            "flaky": {f"{prefix}_FAULT_FAILURE_RATE": str(FLAKY_RATE)},
            "heal": {f"{prefix}_FAULT_LATENCY_MS": "", f"{prefix}_FAULT_FAILURE_RATE": ""},
            }.get(action, {})


def commands(variant, action, service):
    """Return (runner command line, the equivalent make command) for one action."""
    name = program(variant, service)
    if action in ("stop", "start"):
        return ([sys.executable, "-m", "runner", f"{action}-service", variant, name],
                f"make {action}-service VARIANT={variant} SERVICE={name}")
    pairs = [f"{k}={v}" for k, v in settings(action, service).items()]
    return ([sys.executable, "-m", "runner", "restart-with", variant, name, *pairs],
            f'make restart-with VARIANT={variant} SERVICE={name} SETTINGS="{" ".join(pairs)}"')


LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


def check(remote_addr, host, body):
    """Refuse anything but a loopback client asking for a known action; return the request.

    The Host header must name this machine too: a web page elsewhere whose name was made to
    point at 127.0.0.1 (DNS rebinding) would otherwise reach the endpoint through your browser.
    """
    try:
        loopback = ipaddress.ip_address(remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise Refused(403, "forbidden", f"the control endpoint only serves this machine "
                      f"(127.0.0.1 or ::1); {remote_addr} is not a loopback client")
    if (host or "").rsplit(":", 1)[0] not in LOCAL_NAMES and (host or "") not in LOCAL_NAMES:
        raise Refused(403, "forbidden", f"the control endpoint answers only to 127.0.0.1 or "
                      f"localhost as the host name, not {host!r}")
    if not isinstance(body, dict):
        raise Refused(400, "bad_request", 'send JSON: {"variant", "action", "service"}')
    fields = {"variant": ("choreo", "orch"), "action": ACTIONS, "service": config.SERVICES}
    wrong = {k: f"one of {', '.join(allowed)}" for k, allowed in fields.items()
             if body.get(k) not in allowed}
    if wrong:
        raise Refused(400, "invalid_fields", "; ".join(f"{k}: {v}" for k, v in wrong.items()))
    return body["variant"], body["action"], body["service"]


def run(variant, action, service):
    """Carry out an action through the runner; return what to show: command, make, output."""
    argv, make = commands(variant, action, service)
    done = subprocess.run(argv, cwd=config.repo_root(), capture_output=True, text=True,
                          timeout=60)
    output = (done.stdout + done.stderr).strip().splitlines()
    return {"ok": done.returncode == 0, "make": make, "output": output[-5:]}
