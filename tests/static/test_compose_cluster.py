"""deploy/compose-cluster.yml (and -orch.yml): three broker nodes that form one cluster, and every
program that talks to the broker knowing all three and declaring quorum queues; checked without
Docker (tests/compose/test_cluster.py starts it for real)."""
import json
import re
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from runner import processes
from tests.static.test_compose import HERE, _env_file
from tests.support import ROOT

NODES = ["rabbitmq", "rabbitmq-2", "rabbitmq-3"]
CONF = (ROOT / "deploy" / "rabbitmq" / "cluster.conf").read_text()


def load(name):
    return yaml.safe_load((ROOT / "deploy" / name).read_text())


@pytest.fixture(scope="module")
def cluster():
    return load("compose-cluster.yml")["services"]


@pytest.fixture(scope="module")
def cluster_orch():
    return load("compose-cluster-orch.yml")["services"]


def test_both_overlays_validate_against_the_compose_spec_schema():
    schema = json.loads((HERE / "compose_spec.json").read_text())
    for name in ("compose-cluster.yml", "compose-cluster-orch.yml"):
        jsonschema.Draft201909Validator(schema).validate(load(name))


def test_the_peer_discovery_list_names_the_three_nodes_by_their_hostnames(cluster):
    listed = re.findall(r"classic_config\.nodes\.\d+ = rabbit@(\S+)", CONF)
    assert listed == NODES == [cluster[n]["hostname"] for n in NODES]
    assert "cluster_partition_handling = pause_minority" in CONF
    for node in NODES:
        assert "./deploy/rabbitmq/cluster.conf:/etc/rabbitmq/conf.d/90-cluster.conf:ro" in \
            cluster[node]["volumes"], node


def test_the_nodes_share_one_cookie_from_the_env_file_and_start_after_the_first(cluster):
    for node in NODES:
        assert cluster[node]["environment"]["ERLANG_COOKIE"].startswith("${ERLANG_COOKIE:?")
        assert "ERLANG_COOKIE" in " ".join(cluster[node]["entrypoint"])
        assert cluster[node]["image"] == "${RABBITMQ_IMAGE:-rabbitmq:3.13-management}"
    for node in NODES[1:]:
        assert cluster[node]["depends_on"] == {"rabbitmq": {"condition": "service_healthy"}}
    assert "ERLANG_COOKIE=" in (ROOT / ".env.example").read_text()


def _knows_the_cluster(environment):
    urls = environment["AMQP_URL"].split(",")
    return ([re.search(r"@([^:]+):5672/", url)[1] for url in urls] == NODES
            and environment["QUEUE_TYPE"] == "quorum")


def test_every_choreographed_program_on_the_broker_knows_the_three_nodes(cluster):
    users = ["choreo-topology"] + [f"choreo-{p.name}" for p in processes.programs("choreo")
                                   if p.name.endswith("-worker")]
    for name in users + [f"{name}-2" for name in users[1:]]:
        assert _knows_the_cluster(cluster[name]["environment"]), name
    # the topology waits for all three: a quorum queue needs its members
    assert set(cluster["choreo-topology"]["depends_on"]) == {"rabbitmq-2", "rabbitmq-3"}


def test_every_orchestrated_program_on_the_broker_knows_the_three_nodes(cluster_orch):
    for name in ["orch-commands-topology"] + [f"orch-{p.name}"
                                              for p in processes.programs("orch")]:
        assert _knows_the_cluster(cluster_orch[name]["environment"]), name


def test_a_second_worker_replica_is_its_first_with_consumers_only(compose, cluster):
    for program in processes.programs("choreo"):
        if not program.name.endswith("-worker"):
            continue
        first, second = compose["services"][f"choreo-{program.name}"], cluster[
            f"choreo-{program.name}-2"]
        for key in ("image", "command", "profiles", "restart", "cpus", "cpu_shares"):
            assert second[key] == first[key], (program.name, key)
        # what the first waits for, but the broker: the topology one-shot waits for all three
        assert set(second["depends_on"]) == set(first["depends_on"]) - {"rabbitmq"}
        moved = {"AMQP_URL", "QUEUE_TYPE", "WORKER_REPLICA", "CONSUMER_THREADS"}
        assert {k: v for k, v in second["environment"].items() if k not in moved} == {
            k: v for k, v in first["environment"].items() if k not in moved}, program.name
        assert second["environment"]["WORKER_REPLICA"] == "1"  # no second relay


def test_no_quorum_queue_of_the_cluster_has_more_than_16_consumers(cluster):
    # Trade-off 108 (deploy/compose-cluster.yml): with more, a node's loss can take a quorum
    # queue's consumer map past 32 entries, where RabbitMQ before 4.2 lets its members
    # disagree on who holds which message. Each choreographed queue is consumed by every
    # replica of its service's worker.
    for program in processes.programs("choreo"):
        if not program.name.endswith("-worker"):
            continue
        replicas = [cluster[name]["environment"] for name in
                    (f"choreo-{program.name}", f"choreo-{program.name}-2")]
        consumers = sum(int(environment["CONSUMER_THREADS"]) for environment in replicas)
        assert consumers <= 16, (program.name, consumers)


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose (Debian's package) is not installed")
@pytest.mark.parametrize("profile, files", [
    ("choreo", ["docker-compose.yml", "deploy/compose-cluster.yml"]),
    ("orch", ["docker-compose.yml", "deploy/compose-amqp.yml", "deploy/compose-cluster.yml",
              "deploy/compose-cluster-orch.yml"])])
def test_docker_compose_itself_merges_the_cluster_overlays(tmp_path, profile, files):
    env_file = _env_file(tmp_path)
    env_file.write_text(env_file.read_text().replace("ERLANG_COOKIE=\n",
                                                     "ERLANG_COOKIE=not-a-real-one\n"))
    command = ["docker-compose", "--env-file", str(env_file)]
    for name in files:
        command += ["-f", name]
    found = subprocess.run(command + ["--profile", profile, "config", "--services"], cwd=ROOT,
                           check=True, capture_output=True, text=True, timeout=60)
    assert set(NODES) <= set(found.stdout.split())


def test_a_second_orchestrated_service_api_stands_by_on_the_firsts_lock(compose, compose_amqp,
                                                                        cluster_orch):
    for service in ("inventory", "payments", "shipping", "notifications"):
        first, second = compose["services"][f"orch-{service}-api"], cluster_orch[
            f"orch-{service}-api-2"]
        for key in ("image", "command", "profiles", "restart", "cpus"):
            assert second[key] == first[key], (service, key)
        environment = {**first["environment"], **compose_amqp["services"][
            f"orch-{service}-api"]["environment"], **cluster_orch[f"orch-{service}-api"][
            "environment"]}
        assert second["environment"] == environment, service
        # one var folder for both: the lock file that lets one consume (Trade-off 85)
        assert second["volumes"] == cluster_orch[f"orch-{service}-api"]["volumes"] == [
            f"orch-{service}-locks:/app/var"]
