"""Start and stop one variant through the runner, exactly as `make up-<variant>` does.

The twin of tests/support.py's RunningVariant, with one difference for long load runs: the
runner's output (every service's log lines) goes to a file, not into the harness's memory.

The harness knows three variants (VARIANTS), two styles of program: `choreo`, `orch` (the
orchestrator calls the services over HTTP) and `orch-amqp` (the same orchestrated programs
with ORCH_TRANSPORT=amqp: each step a command message answered by a reply). Everything a
report or a scenario needs to know of a variant is asked here (style(), uses_broker()), so a
fourth one is a row in VARIANTS, not a search through the harness.
"""
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from ops.queues import QUEUES as EVENT_QUEUES, command_queues
from runner import supervisor
from shared.runtime import config

ROOT = Path(__file__).resolve().parent.parent
WAIT_UP_S = 180
BALANCED_WITHIN_S = 30


def balanced(leases, replicas):
    """Say whether `replicas` orchestrator replicas each lease their share of the shards (at
    most ceil(shards / replicas), every shard leased): GET /shards's items."""
    owners = Counter(lease["owner"] for lease in leases if lease.get("owner"))
    return (len(owners) == replicas and sum(owners.values()) == len(leases) > 0
            and max(owners.values()) <= math.ceil(len(leases) / replicas))


@dataclass(frozen=True)
class Kind:
    """A variant the harness can run: its name in tables, folders, --variant and BENCH_VARIANTS;
    the runner's programs it starts (`python -m runner up <style>`) with which settings; and
    whether those programs talk through RabbitMQ (then the broker is one of its programs)."""
    name: str
    style: str
    broker: bool
    env: dict = field(default_factory=dict)


# The orchestrated programs get ORCH_TRANSPORT either way, so a shell's own setting cannot
# turn the `orch` column into a second `orch-amqp`.
VARIANTS = {kind.name: kind for kind in (
    Kind("choreo", "choreo", broker=True),
    Kind("orch", "orch", broker=False, env={"ORCH_TRANSPORT": "http"}),
    Kind("orch-amqp", "orch", broker=True, env={"ORCH_TRANSPORT": "amqp"}),
)}
NAMES = tuple(VARIANTS)


def kind(name):
    """Return a variant's Kind; a clear error for a name the harness does not know."""
    if name not in VARIANTS:
        raise SystemExit(f"unknown variant {name!r}; choose from {', '.join(NAMES)}")
    return VARIANTS[name]


def style(name):
    """Return `choreo` or `orch`: whose programs a variant runs (and so its facts: ports,
    which program a replica multiplies, what the audit checks)."""
    return kind(name).style


def uses_broker(name):
    """Return True when a variant's programs talk through RabbitMQ."""
    return kind(name).broker


def queues(name, replicas=1):
    """Return the queues a variant's work waits in (sampled during a run): the choreographed
    services' event queues, or the orchestrated commands' and replies'; none over HTTP."""
    if not uses_broker(name):
        return ()
    if style(name) == "choreo":
        return EVENT_QUEUES
    return command_queues(replicas)


def moved_ports(variant, offset):
    """Return the environment that moves every port of a variant by `offset` (0: the defaults)."""
    return {f"{s.upper()}_PORT": str(p + offset)
            for s, p in config.DEFAULT_PORTS[style(variant)].items()}


class Variant:
    """One variant started by `python -m runner up`, its output in `log_path`. `name` is the
    harness's (`orch-amqp`), `style` the runner's (`orch`): its folder under var_dir."""

    def __init__(self, name, var_dir, log_path, port_offset=0, amqp_url=None, replicas=1,
                 extra_env=None, db="sqlite", budget="off"):
        self.name, self.var_dir, self.log_path = name, Path(var_dir), Path(log_path)
        self.style = style(name)
        self.replicas, self.db, self.budget, self.process = replicas, db, budget, None
        self.env = dict(os.environ, **moved_ports(name, port_offset), **kind(name).env,
                        **(extra_env or {}))
        self.env.update(VAR_DIR=str(self.var_dir), VARIANT=self.style)
        if amqp_url:
            self.env["AMQP_URL"] = amqp_url

    def url(self, service):
        """Return a service's base URL."""
        return f"http://127.0.0.1:{self.env[f'{service.upper()}_PORT']}"

    def start(self):
        """Start the runner on fresh data and wait for its "is up" line."""
        shutil.rmtree(self.var_dir / self.style, ignore_errors=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "runner", "up", self.style, "--replicas", str(self.replicas),
                 "--db", self.db, "--budget", self.budget, "--fresh"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT_UP_S
        while " is up" not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the runner did not bring {self.name} up:\n{tail}")
            time.sleep(0.3)

    def wait_balanced(self, timeout=BALANCED_WITHIN_S):
        """Several orchestrator replicas: wait until each leases its share of the shards; return
        the seconds it took, or None when they were not balanced within `timeout`."""
        # Trade-off 118: a scale-out step loads a settled cluster. The replica that starts first
        # takes every shard, and the others get theirs a lease tick or two later: under load
        # each shard moved then costs its sagas in flight a handover (a step sent again), which
        # in the demo of 2026-12-07 22:36 came in the two runs of three that started loaded
        # unbalanced (13 and 16 sagas resumed by another replica). The cost: C10's line
        # leaves out what a replica joining under load pays; the integration test
        # test_a_replica_started_under_sustained_load_gets_its_share_of_the_shards covers it.
        started, deadline = time.monotonic(), time.monotonic() + timeout
        with requests.Session() as session:
            while time.monotonic() < deadline:
                if balanced(self._leases(session), self.replicas):
                    return time.monotonic() - started
                time.sleep(0.5)
        return None

    def _leases(self, session):
        try:
            answer = session.get(f"{self.url('orchestrator')}/shards", timeout=2)
            return answer.json()["items"] if answer.status_code == 200 else []
        except (requests.RequestException, ValueError, KeyError):
            return []

    def control(self, action, program):
        """Stop or start one program now: what `python -m runner stop-service|start-service`
        does (the same supervisord XML-RPC call), without a new Python process's start-up delay."""
        api = supervisor.rpc(self.var_dir / self.style).supervisor
        getattr(api, f"{action}ProcessGroup")(program)

    def programs(self):
        """Return {program: pid} of the running programs, from the runner's supervisord."""
        infos = supervisor.rpc(self.var_dir / self.style).supervisor.getAllProcessInfo()
        return {info["name"]: info["pid"] for info in infos if info["pid"]}

    def stop(self, timeout=60):
        """Send SIGTERM as Ctrl-C would and wait for the runner to stop everything."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
