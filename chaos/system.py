"""A variant under test: started by `python -m runner up` exactly as `make up-<variant>` starts
it, on ports moved by PORT_OFFSET, with its own broker (choreographed, and orchestrated with
ORCH_TRANSPORT=amqp: the catalogue's `orch-amqp`) and var folder, on SQLite
or (db="postgres", as `--db postgres`) on the runner's PostgreSQL, one database per service.

Plumbing for the catalogue. Faults go through the runner's own controls (runner/chaos_control.py):
kill -9 of one program and restart with other settings, while the rest keeps running.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

from audit.__main__ import audit_when_quiet
from runner import chaos_control, postgres
from runner.broker import Broker
from runner.health import wait_healthy
from shared.runtime import config

ROOT = config.repo_root()
PORT_OFFSET = 24000
AMQP_URL = "amqp://guest:guest@127.0.0.1:5676/%2F"
SERVICES = config.SERVICES
# The catalogue's variants: the runner's variant each one starts, and the settings it adds.
VARIANTS = {"choreo": ("choreo", {}), "orch": ("orch", {}),
            "orch-amqp": ("orch", {"ORCH_TRANSPORT": "amqp"})}  # its steps as messages


def moved_ports(variant, offset):
    """Return the environment that moves every port of a variant by `offset`."""
    return {f"{s.upper()}_PORT": str(p + offset) for s, p in config.DEFAULT_PORTS[variant].items()}


class System:
    """One variant, running under its runner, that scenarios put faults into."""

    def __init__(self, variant, name="chaos", replicas=2, env=None, offset=PORT_OFFSET,
                 amqp_url=AMQP_URL, db="sqlite"):
        self.variant, self.replicas, self.db = variant, replicas, db
        self.style, settings = VARIANTS[variant]  # style: the runner's variant, choreo or orch
        self.uses_broker = self.style == "choreo" or settings.get("ORCH_TRANSPORT") == "amqp"
        self.var_dir = ROOT / "var" / f"{name}-{variant}"
        self.env = dict(os.environ, **moved_ports(self.style, offset), VAR_DIR=str(self.var_dir),
                        VARIANT=self.style, AMQP_URL=amqp_url,
                        POSTGRES_PORT=str(postgres.DEFAULT_PORT + offset),
                        **settings, **(env or {}))
        self.amqp_url = amqp_url
        self.folder = self.var_dir / self.style  # the runner's supervisord socket and logs
        self.urls = {s: f"http://127.0.0.1:{self.env[f'{s.upper()}_PORT']}" for s in SERVICES}
        base = int(self.env["ORCHESTRATOR_PORT"]) if self.style == "orch" else None
        self.orchestrator_url = f"http://127.0.0.1:{base}" if base else None
        self.broker = Broker(amqp_url, ROOT / "var" / f"{name}-broker")
        self.process, self.output = None, []

    def programs(self, service):
        """Return the supervisord programs of one service (choreo: its API and its worker)."""
        if service == "orchestrator":
            return [f"orchestrator-{i}" for i in range(self.replicas)]
        return [f"{service}-api"] + ([f"{service}-worker"] if self.style == "choreo" else [])

    def workers(self, service):
        """Return the programs that do a service's saga work (where fault settings apply)."""
        return [f"{service}-worker" if self.style == "choreo" else f"{service}-api"]

    def start(self, timeout=180):
        """Start the broker (if the variant uses one: then the runner uses it too, and a
        scenario can restart it) and the runner; return when the runner says it is up."""
        if self.uses_broker and self.broker.process is None:
            if self.broker.answers():  # a node left over from an interrupted run of ours
                subprocess.run(["rabbitmqctl", "-n", self.broker.node, "stop"],
                               env=self.broker.env(), capture_output=True, timeout=30)
            shutil.rmtree(self.broker.base, ignore_errors=True)  # no events of an earlier run
            self.broker.start()
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.db == "postgres":
            self._fresh_postgres()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.var_dir / "runner.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runner", "up", self.style, "--replicas", str(self.replicas),
             "--db", self.db],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while " is up" not in (self.var_dir / "runner.log").read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the runner did not come up; see {self.var_dir}/runner.log")
            time.sleep(0.3)

    def _fresh_postgres(self):
        """Remove the cluster of an earlier run (the runner then creates a new one), as fresh
        as the SQLite files; stop it first if an interrupted run of ours left it running."""
        cluster = postgres.Cluster(int(self.env["POSTGRES_PORT"]), self.var_dir / "postgres")
        if cluster.answers() and (cluster.data / "PG_VERSION").exists():
            cluster.started = True  # ours: its port and folder are this System's
            cluster.stop()
        shutil.rmtree(cluster.base, ignore_errors=True)  # Cluster made it reachable()

    def stop(self):
        """Stop the runner as Ctrl-C would, then the broker we started."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.broker.stop()

    def crash(self, programs, down_s):
        """kill -9 the programs together; start them again `down_s` seconds later."""
        killed = {p: chaos_control.kill(self.folder, p) for p in programs}
        for program, pids in killed.items():
            chaos_control.hold_down(self.folder, program, pids)
        time.sleep(down_s)
        for program in programs:
            chaos_control.start(self.folder, program)
        self.wait_healthy()

    def restart_with(self, programs, settings):
        """Restart programs with extra environment settings; wait until all is healthy again."""
        for program in programs:
            chaos_control.restart_with(self.folder, program, settings)
        self.wait_healthy()

    def wait_healthy(self, timeout=120):
        """Wait until every HTTP program answers /health with 200."""
        urls = list(self.urls.values())
        if self.style == "orch":
            port = int(self.env["ORCHESTRATOR_PORT"])
            urls += [f"http://127.0.0.1:{port if i == 0 else port + 4 + i}"
                     for i in range(self.replicas)]
        wait_healthy(urls, timeout=timeout)

    def audit(self, timeout_s, ledger=None):
        """Wait for quiet (at most timeout_s), audit with the client's ledger: (results, listings)
        as audit.__main__ returns them."""
        return audit_when_quiet(self.style, self.urls, timeout_s, ledger=ledger,
                                amqp_url=self.amqp_url, orchestrator_url=self.orchestrator_url)
