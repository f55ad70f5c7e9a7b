"""Start and stop a RabbitMQ node from the local rabbitmq-server install, with its data under var/.

Debian's `rabbitmq-server` wrapper switches to the `rabbitmq` user, so the data and log
folders are created owned by that user. The node is stopped with `rabbitmqctl stop`. Every
port it opens is on loopback (AMQP, management, Erlang distribution, epmd): a development node
with the guest user and a well-known cookie location must not answer the network.

Busy-waiting Erlang schedulers bill idle spinning to every order on a small shared machine;
RabbitMQ's tuning guide turns it off with `+sbwt none +sbwtdcpu none +sbwtdio none`. We pass
nothing: RabbitMQ's own start script (3.10 here, and the official container image) already
starts the node with exactly those flags (see the beam.smp command line), and a node started
with them added again idled at the same 2.0 CPU-ms per second as one without.
"""
import os
import shutil
import socket
import subprocess
import time
from urllib.parse import urlparse

from runner.folders import reachable
from shared.runtime import config
from shared.runtime.config import MANAGEMENT_PORT_OFFSET

INSTALL_HINT = ("rabbitmq-server is not installed. On Debian or Ubuntu run, as root: "
                "apt-get update && apt-get install -y rabbitmq-server (or `make broker`). "
                "Elsewhere install RabbitMQ 3.x from your package manager, or point AMQP_URL at "
                "a running broker.")


class Broker:
    """One RabbitMQ node listening on 127.0.0.1:port, its files under `base`."""

    def __init__(self, amqp_url, base):
        parsed = urlparse(amqp_url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 5672
        self.base = reachable(base)  # the rabbitmq user must reach it
        # One node name per port, so a test broker can run beside the one of `make up-choreo`.
        self.node = "rabbit@localhost" if self.port == 5672 else f"rabbit{self.port}@localhost"
        self.process = None
        self.join = []  # a command prefix that puts the node in its CPU budget (runner.cgexec)

    def answers(self):
        """Return True if something accepts connections on the broker's port."""
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def env(self):
        """Return the environment that points rabbitmq-server and rabbitmqctl at this node.

        Every listener is on loopback: AMQP, the management API (RABBITMQ_CONFIG_FILE), the
        Erlang distribution port (inet_dist_use_interface) and epmd, which the first node
        starts and which reads ERL_EPMD_ADDRESS (the CLI tools read it to find the node)."""
        return dict(os.environ, RABBITMQ_NODENAME=self.node,
                    RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
                    RABBITMQ_LOG_BASE=str(self.base / "log"),
                    RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
                    RABBITMQ_NODE_PORT=str(self.port),
                    RABBITMQ_DIST_PORT=str(self.port + 20000),
                    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface "
                                                        "{127,0,0,1}",
                    ERL_EPMD_ADDRESS="127.0.0.1",
                    RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
                    RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"))

    def write_config(self):
        """Enable the management plugin, on 127.0.0.1 and the AMQP port + 10000: the audit
        reads there how many messages consumers hold unacknowledged (AMQP does not tell),
        sampled every BROKER_STATS_INTERVAL_MS."""
        (self.base / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.base / "rabbitmq.conf").write_text(
            f"management.tcp.ip = 127.0.0.1\n"
            f"management.tcp.port = {self.port + MANAGEMENT_PORT_OFFSET}\n"
            f"collect_statistics_interval = {config.broker_stats_interval_ms()}\n")

    def start(self, timeout=60):
        """Start the node and wait until it accepts connections."""
        if shutil.which("rabbitmq-server") is None:
            raise SystemExit(INSTALL_HINT)
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        self.write_config()
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(self.base)], check=True)
        self.process = subprocess.Popen(
            self.join + ["rabbitmq-server"], env=self.env(), cwd="/", start_new_session=True,
            stdout=open(self.base / "server.out", "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited; see {self.base / 'log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"rabbitmq-server not ready after {timeout}s")
            time.sleep(0.5)

    def _ready(self):
        if not self.answers():
            return False
        check = subprocess.run(["rabbitmq-diagnostics", "-n", self.node, "-q",
                                "check_port_connectivity"], env=self.env(),
                               capture_output=True, timeout=30)
        return check.returncode == 0

    def stop(self, timeout=20):
        """Stop the node we started and wait for its process to end."""
        if self.process is None:
            return
        subprocess.run(["rabbitmqctl", "-n", self.node, "stop"], env=self.env(),
                       capture_output=True, timeout=timeout)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process = None
        # epmd outlives the node that started it; it refuses to stop while another node lives.
        subprocess.run(["epmd", "-kill"], env=self.env(), capture_output=True, timeout=timeout)

    def restart(self):
        """Stop and start the node again (durable queues and persistent messages survive)."""
        self.stop()
        self.start()
