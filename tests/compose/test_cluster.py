"""The choreographed variant on a three-node RabbitMQ cluster with quorum queues (`make
compose-up VARIANT=choreo CLUSTER=3`): one cluster of three, every queue quorum, one order of each
outcome, and the fault catalogue's node-leading-busy-queue-killed row (chaos/cluster.py) under
load with the ledger audit: 0 lost, 0 doubled. The longer rows: `make chaos-cluster`.
It runs with the tracing profile on (TRACING=jaeger; in CI the stand-in OTLP receiver of
deploy/standins/otlp/): every service's spans reach it over OTLP.

It brings its own start up and takes it down (a fresh start, like test_amqp_transport.py);
its name sorts it before the files that use the `system` fixture, so it never runs inside one.
"""
import json
import subprocess
import sys

import pytest

from chaos import report
from chaos.cluster import NODES, ComposedCluster
from chaos.run import run_scenario
from tests.support import OUTCOMES, wait_final, wait_for


@pytest.fixture(scope="module")
def cluster():
    composed = ComposedCluster("choreo", tracing=True)
    composed.up()  # from nothing: `deploy/compose.sh down` first
    yield composed
    composed.down()


def _rabbitmqctl(cluster, *args):
    return subprocess.run(["docker", "exec", cluster.container("rabbitmq"), "rabbitmqctl", "-q",
                           *args], capture_output=True, text=True, timeout=60, check=True).stdout


def test_three_nodes_form_one_cluster_and_every_queue_is_a_quorum_queue(cluster):
    status = _rabbitmqctl(cluster, "cluster_status", "--formatter", "json")
    assert sorted(json.loads(status)["running_nodes"]) == [
        f"rabbit@{node}" for node in NODES]
    listed = [line.split("\t") for line in _rabbitmqctl(cluster, "list_queues", "name",
                                                        "type").splitlines()[1:]]
    assert listed and {kind for _, kind in listed} == {"quorum"}, listed


def test_each_outcome_ends_as_asked_on_the_cluster(cluster, http):
    orders = cluster.urls["orders"]
    placed = {outcome: http.post(f"{orders}/orders", json=body, timeout=60).json()["order_id"]
              for outcome, (body, _, _) in OUTCOMES.items()}
    for outcome, order_id in placed.items():
        order = wait_final(http, orders, order_id, timeout=120)
        assert (order["status"], order.get("reason")) == OUTCOMES[outcome][1:], outcome


def test_the_leader_of_a_busy_queue_killed_under_load_loses_and_doubles_nothing(cluster):
    # The audit's listing goes to stdout, which pytest shows when the test fails: which orders
    # were left, and where their messages were, is what a diagnosis starts from.
    row = run_scenario(cluster, "node-leading-busy-queue-killed", total=60, audit_s=180,
                       out=sys.stdout)
    print("\n" + report.table([row]))
    if not (row.passed and (row.sent, row.lost, row.doubled) == (60, 0, 0)):
        _print_where_the_work_is(cluster)
    assert (row.sent, row.lost, row.doubled) == (60, 0, 0), report.table([row])
    assert row.passed, report.table([row])


def _print_where_the_work_is(cluster):
    """For a failed run (it is rare, and CI keeps only its output): every queue's ready and
    unacknowledged messages with its leader, every channel's unacked count, and the
    warnings of the services' logs."""
    for args in (["list_queues", "name", "leader", "messages_ready", "messages_unacknowledged",
                  "consumers"], ["list_channels", "connection", "consumer_count",
                                 "messages_unacknowledged"]):
        for node in NODES:  # the first that answers
            listed = subprocess.run(["docker", "exec", cluster.container(node), "rabbitmqctl",
                                     "-q", *args], capture_output=True, text=True, timeout=60)
            if listed.returncode == 0:
                print(f"--- rabbitmqctl {args[0]} (asked of {node})\n{listed.stdout}")
                break
    for service in cluster.compose("ps", "--services").split():
        if service.startswith("choreo-"):
            logs = cluster.compose("logs", "--no-color", "--tail", "2000", service, check=False)
            noted = [line for line in logs.splitlines()
                     if any(word in line for word in ("WARNING", "ERROR", "Traceback"))]
            print(f"--- {service}: {len(noted)} warning(s), the last 30\n" + "\n".join(noted[-30:]))


def test_every_service_exports_its_spans_to_the_tracing_profiles_receiver(cluster, http):
    wanted = {"orders", "inventory", "payments", "shipping", "notifications"}

    def services():
        return set(http.get("http://127.0.0.1:16686/api/services", timeout=10).json()["data"])
    found = wait_for(lambda: wanted <= services() and services(), timeout=60,
                     message="spans of every service at the OTLP receiver")
    assert wanted <= found, found
