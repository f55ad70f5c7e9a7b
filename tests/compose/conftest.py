"""Compose fixtures: each variant started by `make compose-up`, driven through its published ports.

`make test-compose` builds the images first (`make compose-images`); each profile is then
brought up from nothing (`deploy/compose.sh down` first: fresh volumes), driven by the
end-to-end scenarios of tests/e2e (imported, not copied: the same `system`, `urls` and `http`
fixtures as there, pointing at the containers), and removed by `deploy/compose.sh down`,
which fails if any container, network or volume of the project is left.
"""
import json
import os
import subprocess

import pytest
import requests

from shared.runtime import config
from tests.support import ROOT

# The compose broker samples its queue counts at RabbitMQ's default interval, not the native test
# brokers' one second (tests/conftest.py): the audit must wait as long as it really samples.
os.environ["BROKER_STATS_INTERVAL_MS"] = "5000"

VARIANTS = ["choreo", "orch"]
APP_IMAGE = "orders-saga-app"


def run(*args, timeout=600, check=True):
    """Run a command in the checkout and return its CompletedProcess (text)."""
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=check)


def compose_command():
    """`docker compose` (v2) when present, else Debian's `docker-compose` 1.29."""
    v2 = subprocess.run(["docker", "compose", "version"], capture_output=True)
    return ["docker", "compose"] if v2.returncode == 0 else ["docker-compose"]


def env_setting(name):
    """The value of NAME in .env (written by deploy/compose.sh)."""
    for line in (ROOT / ".env").read_text().splitlines():
        if line.startswith(f"{name}="):
            value = line.split("=", 1)[1]
    return value


class ComposedVariant:
    """One profile of docker-compose.yml, started as `make compose-up` starts it."""

    def __init__(self, variant):
        self.variant = variant
        self.compose = compose_command() + ["--profile", variant]

    def url(self, service):
        """Return a service's base URL on the host (the published port)."""
        return f"http://127.0.0.1:{config.DEFAULT_PORTS[self.variant][service]}"

    def up(self):
        started = run("deploy/compose.sh", "up", self.variant, check=False)
        if started.returncode != 0:
            self.down()
            raise RuntimeError(f"compose-up {self.variant} failed:\n{started.stdout[-2000:]}"
                               f"\n{started.stderr[-4000:]}")

    def down(self):
        run("deploy/compose.sh", "down")

    def container(self, service):
        """Return the id of a compose service's container."""
        return run(*self.compose, "ps", "-q", service).stdout.strip()

    def containers(self):
        """Return the ids of every container of the profile."""
        return run(*self.compose, "ps", "-q").stdout.split()

    def inspect(self, container_id):
        """Return `docker inspect` of one container as data."""
        return json.loads(run("docker", "inspect", container_id).stdout)[0]


def pytest_collection_modifyitems(items):
    """Allow 10 minutes a test here: a profile's first test includes bringing it up."""
    for item in items:
        if "tests/compose/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.timeout(600))


@pytest.fixture(scope="session", autouse=True)
def images_are_built():
    """The app image must exist: `make test-compose` builds it (`make compose-images`)."""
    if run("docker", "image", "inspect", APP_IMAGE, check=False).returncode != 0:
        pytest.fail("no orders-saga-app image: run `make test-compose` (it runs "
                    "`make compose-images` first)")


@pytest.fixture(scope="session", params=VARIANTS)
def system(request):
    """Bring one profile up from nothing for the session; take it down, leaving nothing."""
    composed = ComposedVariant(request.param)
    composed.down()
    composed.up()
    yield composed
    composed.down()  # fails when a container, network or volume of the project is left


@pytest.fixture
def http():
    """A requests session for one test."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def urls(system):
    """The base URL of each service of the running variant, through the published ports."""
    return {s: system.url(s) for s in config.SERVICES}


@pytest.fixture
def audit_where(system):
    """Where the audit reads the broker's queues (choreo) or the unfinished sagas (orch)."""
    if system.variant == "choreo":
        return {"amqp_url": run("deploy/compose.sh", "amqp-url").stdout.strip()}
    return {"orchestrator_url": system.url("orchestrator")}
