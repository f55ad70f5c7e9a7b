"""What only a real deployment shows: every container in its own network namespace, and no
account but .env's, with its random passwords."""
import requests

from tests.compose.conftest import env_setting, run

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
