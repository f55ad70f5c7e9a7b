"""Start and stop one variant through the runner, exactly as `make up-<variant>` does.

The twin of tests/support.py's RunningVariant, with one difference for long load runs: the
runner's output (every service's log lines) goes to a file, not into the harness's memory.
"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared import config
from runner import supervisor

ROOT = Path(__file__).resolve().parent.parent
WAIT_UP_S = 180


def moved_ports(variant, offset):
    """Return the environment that moves every port of a variant by `offset` (0: the defaults)."""
    return {f"{s.upper()}_PORT": str(p + offset) for s, p in config.DEFAULT_PORTS[variant].items()}


class Variant:
    """One variant started by `python -m runner up`, its output in `log_path`."""

    def __init__(self, name, var_dir, log_path, port_offset=0, amqp_url=None, replicas=1,
                 extra_env=None, db="sqlite", budget="off"):
        self.name, self.var_dir, self.log_path = name, Path(var_dir), Path(log_path)
        self.replicas, self.db, self.budget, self.process = replicas, db, budget, None
        self.env = dict(os.environ, **moved_ports(name, port_offset), **(extra_env or {}))
        self.env.update(VAR_DIR=str(self.var_dir), VARIANT=name)
        if amqp_url:
            self.env["AMQP_URL"] = amqp_url

    def url(self, service):
        """Return a service's base URL."""
        return f"http://127.0.0.1:{self.env[f'{service.upper()}_PORT']}"

    def start(self):
        """Start the runner on fresh data and wait for its "is up" line."""
        shutil.rmtree(self.var_dir / self.name, ignore_errors=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "runner", "up", self.name, "--replicas", str(self.replicas),
                 "--db", self.db, "--budget", self.budget],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT_UP_S
        while " is up" not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the runner did not bring {self.name} up:\n{tail}")
            time.sleep(0.3)

    def control(self, action, program):
        """Stop or start one program now: what `python -m runner stop-service|start-service`
        does (the same supervisord XML-RPC call), without a new Python process's start-up delay."""
        api = supervisor.rpc(self.var_dir / self.name).supervisor
        getattr(api, f"{action}ProcessGroup")(program)

    def programs(self):
        """Return {program: pid} of the running programs, from the runner's supervisord."""
        infos = supervisor.rpc(self.var_dir / self.name).supervisor.getAllProcessInfo()
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
