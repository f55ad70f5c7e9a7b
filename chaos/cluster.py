"""The cluster rows of the fault catalogue: a variant under compose on three RabbitMQ nodes with
quorum queues (`make compose-up ... CLUSTER=3`), and the faults a cluster has, each under load
with the ledger audit after it (run.py's harness, as the native rows).

    python -m chaos.cluster --variant choreo                 the four rows (make chaos-cluster)
    python -m chaos.cluster --variant orch-amqp --scenario node-cut-off

- node-leading-busy-queue-killed: SIGKILL the node that leads the busiest queue; Docker's
  restart policy brings it back, and the queue goes on under a leader the others elect;
- node-stopped-30s: `docker stop` one node, `docker start` it 30 s later;
- node-cut-off: `docker network disconnect` one node (the busy queue's leader, but never the
  host's `rabbitmq`) for 30 s, then connect it again; under pause_minority it pauses itself
  (checked: it runs no broker while cut off) and takes no work;
- cluster-restarted: stop the three nodes, then start them again.

Recovery is shown two ways: how long after the fault the three nodes were healthy again, and
(the harness's drain) how long after the load ended every order had reached its end.
Only containers of the compose project this run started are touched.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

from audit.__main__ import audit_when_quiet
from chaos import report
from chaos.run import run_scenario
from chaos.scenarios import scenario
from shared.runtime import config

ROOT = config.repo_root()
NODES = ("rabbitmq", "rabbitmq-2", "rabbitmq-3")
CLUSTER = ("cluster",)  # the scenarios below run only on a ComposedCluster
# The queue with the most traffic: every order passes it (choreo: the first step's events;
# orch-amqp: every reply of every step comes back to the orchestrator through it).
BUSY_QUEUE = {"choreo": "inventory.events", "orch-amqp": "orchestrator-0.replies"}
OUTAGE_S = 30
# A paused node starts its broker again once it sees the others; RabbitMQ 3.10 sometimes
# fails that restart for good (seen: its management agent crashes on two distribution
# sockets to one peer, and the node stays up with no broker). The row then does what an
# operator (or a liveness probe) does: restart the node, and says so in its notes.
RESUME_S = 90


def sh(*args, timeout=120, check=True):
    """Run a command in the checkout; return its stdout."""
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=check).stdout


class ComposedCluster:
    """A variant on the compose cluster, with the System interface run.py needs (urls,
    var_dir, amqp_url, audit) and the node faults the scenarios below use."""

    def __init__(self, variant, tracing=False):
        """`tracing`: with the tracing profile (TRACING=jaeger, deploy/compose-tracing.yml)."""
        self.variant, self.db = variant, "postgres"
        self.style = "choreo" if variant == "choreo" else "orch"
        self.env = dict(os.environ, CLUSTER="3", TRACING="jaeger" if tracing else "off",
                        **({} if variant == "choreo" else {"ORCH_TRANSPORT": "amqp"}))
        self.files = ["-f", "docker-compose.yml"] + (
            [] if variant == "choreo" else ["-f", "deploy/compose-amqp.yml"]) + [
            "-f", "deploy/compose-cluster.yml"] + (
            [] if variant == "choreo" else ["-f", "deploy/compose-cluster-orch.yml"]) + (
            ["-f", "deploy/compose-tracing.yml"] if tracing else [])
        self.var_dir = ROOT / "var" / f"cluster-{variant}"
        ports = config.DEFAULT_PORTS[self.style]
        self.urls = {s: f"http://127.0.0.1:{ports[s]}" for s in config.SERVICES}
        self.orchestrator_url = (f"http://127.0.0.1:{ports['orchestrator']}"
                                 if self.style == "orch" else None)
        self.amqp_url = None

    def up(self):
        """Start the variant on the cluster from nothing; wait until every container is healthy."""
        self.down()
        started = subprocess.run(["deploy/compose.sh", "up", self.style], cwd=ROOT, env=self.env,
                                 capture_output=True, text=True, timeout=900)
        if started.returncode != 0:
            self.down()
            raise RuntimeError(f"compose up failed:\n{started.stdout[-2000:]}\n"
                               f"{started.stderr[-4000:]}")
        self.amqp_url = sh("deploy/compose.sh", "amqp-url").strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)

    def down(self):
        sh("deploy/compose.sh", "down", timeout=300)

    def compose(self, *args, check=True):
        command = ["docker-compose"] + self.files + ["--profile", self.style, *args]
        return subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=300, check=check).stdout

    def container(self, service):
        """Return the id of a compose service's (first) container."""
        return self.compose("ps", "-q", service).split()[0]

    def inspect(self, service):
        return json.loads(sh("docker", "inspect", self.container(service)))[0]

    # --- the nodes ---------------------------------------------------------------------------
    def leader_of(self, queue):
        """Return the service name of the node that leads `queue` (asked of a running node)."""
        for node in NODES:
            listed = subprocess.run(["docker", "exec", self.container(node), "rabbitmqctl", "-q",
                                     "list_queues", "name", "leader"], capture_output=True,
                                    text=True, timeout=60)
            for line in listed.stdout.splitlines():
                name, _, leader = line.partition("\t")
                if name == queue:
                    return leader.strip().split("@", 1)[1]
        raise RuntimeError(f"no node answers who leads {queue}")

    def kill_node(self, node):
        """SIGKILL the node's main process: a crash, which Docker's restart policy answers."""
        os.kill(self.inspect(node)["State"]["Pid"], signal.SIGKILL)

    def stop_node(self, node):
        sh("docker", "stop", self.container(node))

    def start_node(self, node):
        sh("docker", "start", self.container(node))

    def network(self):
        return next(iter(self.inspect("rabbitmq")["NetworkSettings"]["Networks"]))

    def cut_off(self, node):
        sh("docker", "network", "disconnect", self.network(), self.container(node))

    def reconnect(self, node, network):
        """Connect the node again under its service name (the name the others call it by)."""
        sh("docker", "network", "connect", "--alias", node, network, self.container(node))

    def runs_broker(self, node):
        """True when the node's broker application runs (a paused minority node's does not)."""
        return subprocess.run(["docker", "exec", self.container(node), "rabbitmq-diagnostics",
                               "-q", "check_running"], capture_output=True,
                              timeout=60).returncode == 0

    def restart_node(self, node):
        sh("docker", "restart", self.container(node), timeout=300)

    def resumes(self, node, timeout):
        """Wait up to `timeout` s for the node to run its broker again; True if it did."""
        deadline = time.monotonic() + timeout
        while not self.runs_broker(node):
            if time.monotonic() > deadline:
                return False
            time.sleep(2)
        return True

    def wait_nodes_healthy(self, timeout=300):
        """Wait until the three nodes run their broker; return how long that took. Asked of
        each node, not read from Docker's health: that one turns unhealthy only after 20
        failed checks, so a paused node looked healthy for minutes (seen)."""
        started = time.monotonic()
        while not all(self.runs_broker(n) for n in NODES):
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"the cluster's nodes not healthy after {timeout} s")
            time.sleep(1)
        return time.monotonic() - started

    def audit(self, timeout_s, ledger=None):
        """Wait for quiet and audit with the client's ledger (run.py's contract)."""
        return audit_when_quiet(self.style, self.urls, timeout_s, ledger=ledger,
                                amqp_url=self.amqp_url, orchestrator_url=self.orchestrator_url)


# --- the scenarios (each returns its notes; run.py heals nothing: each heals itself) ---------

def _recovered(ctx, fault_at):
    took = time.monotonic() - fault_at
    return f"nodes healthy {took + ctx.system.wait_nodes_healthy():.0f} s after the fault"


@scenario("node-leading-busy-queue-killed", CLUSTER)
def _leader_killed(ctx):
    cluster, queue, notes = ctx.system, BUSY_QUEUE[ctx.system.variant], []

    def fault():
        leader = cluster.leader_of(queue)
        fault_at = time.monotonic()
        cluster.kill_node(leader)
        time.sleep(3)  # the others elect a new leader while the old one is down
        notes.append(f"kill -9 {leader} (leader of {queue})")
        notes.append(f"new leader {cluster.leader_of(queue)}")
        notes.append(_recovered(ctx, fault_at))
    ctx.under_load(fault)
    return notes


@scenario("node-stopped-30s", CLUSTER)
def _node_stopped(ctx):
    cluster, notes = ctx.system, []

    def fault():
        node = cluster.leader_of(BUSY_QUEUE[cluster.variant])
        cluster.stop_node(node)
        time.sleep(OUTAGE_S)
        fault_at = time.monotonic()
        cluster.start_node(node)
        notes.append(f"docker stop {node}, started {OUTAGE_S} s later")
        notes.append(_recovered(ctx, fault_at).replace("fault", "start"))
    ctx.under_load(fault)
    return notes


def _leader_but_not_the_hosts(cluster):
    """The busy queue's leader, unless it is `rabbitmq`, the node whose ports the host's tools
    (the audit) use: then the next node. Once cut off and back, a node's management API
    answered no queue listing for minutes (seen with RabbitMQ 3.10), which would fail the
    audit's quiet check for a reason that is not the variant's."""
    leader = cluster.leader_of(BUSY_QUEUE[cluster.variant])
    return leader if leader != NODES[0] else NODES[1]


@scenario("node-cut-off", CLUSTER)
def _node_cut_off(ctx):
    cluster, notes = ctx.system, []

    def fault():
        node = _leader_but_not_the_hosts(cluster)
        network = cluster.network()
        cluster.cut_off(node)
        time.sleep(OUTAGE_S)
        paused = not cluster.runs_broker(node)
        ctx.check(paused, f"{node} cut off still runs its broker (pause_minority?)")
        fault_at = time.monotonic()
        cluster.reconnect(node, network)
        notes.append(f"{node} cut off {OUTAGE_S} s: "
                     f"{'paused itself (minority)' if paused else 'NOT paused'}")
        if not cluster.resumes(node, RESUME_S):
            cluster.restart_node(node)
            notes.append(f"{node} did not resume within {RESUME_S} s of the reconnect: "
                         "restarted, as its operator would (docs/faults.md says why)")
        notes.append(_recovered(ctx, fault_at).replace("fault", "reconnect"))
    ctx.under_load(fault)
    return notes


@scenario("cluster-restarted", CLUSTER)
def _cluster_restarted(ctx):
    cluster, notes = ctx.system, []

    def fault():
        fault_at = time.monotonic()
        for node in NODES:
            cluster.stop_node(node)
        for node in NODES:
            cluster.start_node(node)
        notes.append("docker stop of the three nodes, then docker start")
        notes.append(_recovered(ctx, fault_at))
    ctx.under_load(fault)
    return notes


# Each row's orders at run.py's 8 a second: the 30 s outages get a load that outlasts them.
ROWS = {"node-leading-busy-queue-killed": 100, "node-stopped-30s": 320, "node-cut-off": 320,
        "cluster-restarted": 160}


def main(argv=None):
    """Bring the variant up on the cluster, run the rows, take it down; exit 0 if all pass."""
    parser = argparse.ArgumentParser(prog="python -m chaos.cluster")
    parser.add_argument("--variant", choices=("choreo", "orch-amqp"), default="choreo")
    parser.add_argument("--scenario", choices=list(ROWS), action="append")
    parser.add_argument("--total", type=int, default=None, help="orders per row")
    args = parser.parse_args(argv)
    cluster, rows = ComposedCluster(args.variant), []
    cluster.up()
    try:
        for name in args.scenario or ROWS:
            rows.append(run_scenario(cluster, name, total=args.total or ROWS[name],
                                     out=sys.stdout))
            print(report.table(rows[-1:]), flush=True)
    finally:
        cluster.down()
    print(f"\n{report.table(rows)}")
    return 0 if rows and all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
