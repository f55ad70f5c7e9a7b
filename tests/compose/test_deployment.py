"""What only a real deployment shows: every container in its own network namespace, and no
account but .env's, with its random passwords."""
from pathlib import Path

import requests

from shared.runtime import config
from tests.compose.conftest import env_setting, run
from tests.support import ROOT

# postgres and rabbitmq, an API and a worker per service, Locust; postgres, the five APIs,
# the orchestrator, Locust.
CONTAINERS = {"choreo": 13, "orch": 8}


def test_no_container_shares_another_containers_network_namespace(system):
    every = [system.inspect(c) for c in system.containers()]
    inspected = [i for i in every if i["State"]["Running"]]
    assert len(inspected) == CONTAINERS[system.variant]
    if system.variant == "choreo":  # the topology was declared once, and before any worker
        done = [i for i in every if not i["State"]["Running"]]
        assert [(i["Name"].endswith("choreo-topology_1") or "topology" in i["Name"],
                 i["State"]["ExitCode"]) for i in done] == [(True, 0)], done
    modes = {i["Name"]: i["HostConfig"]["NetworkMode"] for i in inspected}
    assert not [m for m in modes.values() if m.startswith("container:") or m == "host"], modes
    sandboxes = [i["NetworkSettings"]["SandboxKey"] for i in inspected]
    assert len(set(sandboxes)) == len(sandboxes), "two containers share a network namespace"


def test_the_only_accounts_are_the_env_files_with_its_random_passwords(system):
    user, password = env_setting("POSTGRES_USER"), env_setting("POSTGRES_PASSWORD")
    assert len(password) >= 16 and env_setting("RABBITMQ_PASSWORD") != password
    postgres = system.container("postgres")
    roles = run("docker", "exec", postgres, "psql", "-U", user, "-d", "postgres", "-Atc",
                "SELECT rolname FROM pg_roles WHERE rolcanlogin").stdout.split()
    assert roles == [user]
    no_password = run("docker", "exec", "-e", "PGCONNECT_TIMEOUT=5", postgres, "psql", "-h",
                      "127.0.0.1", "-U", user, "-d", "postgres", "-w", "-c", "SELECT 1",
                      check=False)
    assert no_password.returncode != 0 and "password" in no_password.stderr
    if system.variant == "choreo":
        rabbit_user = env_setting("RABBITMQ_USER")
        auth = (rabbit_user, env_setting("RABBITMQ_PASSWORD"))
        users = requests.get("http://127.0.0.1:15672/api/users", auth=auth, timeout=10).json()
        assert [u["name"] for u in users] == [rabbit_user]
        guest = requests.get("http://127.0.0.1:15672/api/whoami", auth=("guest", "guest"),
                             timeout=10)
        assert guest.status_code == 401


def test_every_container_runs_under_its_cpu_quota(system):
    # docker-compose.yml's `cpus:` (tests/static checks every service names one): the quota
    # docker asked for (NanoCpus), and the one the kernel enforces, in the container's cgroup.
    own = {"postgres": cores("BUDGET_DB_CORES", config.budget_db_cores),
           "rabbitmq": cores("BUDGET_BROKER_CORES", config.budget_broker_cores),
           f"{system.variant}-locust": cores("BUDGET_LOAD_CORES", config.budget_load_cores),
           f"{system.variant}-orders-api": cores("BUDGET_ORDERS_API_CORES",
                                                 config.budget_orders_api_cores)}
    for container in system.containers():
        found = system.inspect(container)
        if not found["State"]["Running"]:
            continue  # the topology one-shot, done
        service = found["Config"]["Labels"]["com.docker.compose.service"]
        budget = own.get(service) or cores("BUDGET_CORES", config.budget_cores)
        assert found["HostConfig"]["NanoCpus"] == round(budget * 1e9), service
        quota = Path("/sys/fs/cgroup/cpu/docker") / found["Id"] / "cpu.cfs_quota_us"
        if quota.exists():  # cgroup v1 with docker's cgroupfs driver, as on the test machine
            period = int((quota.parent / "cpu.cfs_period_us").read_text())
            assert int(quota.read_text()) == round(budget * period), service


def cores(name, default):
    """Return a CPU budget as .env sets it, else runtime/config.py's default (compose's too)."""
    lines = (ROOT / ".env").read_text().splitlines()
    given = [line.split("=", 1)[1] for line in lines if line.startswith(f"{name}=")]
    return float(given[-1]) if given and given[-1] else default()
