"""End-to-end fixtures: each variant started through the runner users use, on test ports.

The scenarios are written once and parametrized over VARIANTS.
"""
import os

import pytest
import requests

from runner.broker import Broker
from shared.runtime import config
from tests.support import ROOT, RunningVariant, moved_ports

VARIANTS = ["choreo", "orch"]
PORT_OFFSET = 10000
TEST_AMQP_URL = "amqp://guest:guest@127.0.0.1:5673/%2F"
E2E_DB = os.environ.get("E2E_DB") or "sqlite"  # `make test-e2e DB=postgres` sets postgres
# E2E_DB=postgres: a cluster per variant, each on a port of its own, since the session stops
# the first variant in the background while the second starts (stop_later).
TEST_POSTGRES_PORTS = {"choreo": "15433", "orch": "15439"}


@pytest.fixture(scope="session")
def test_broker(stop_later):
    """Start a RabbitMQ node for the end-to-end tests (the runner reuses a broker that answers)."""
    broker = Broker(TEST_AMQP_URL, ROOT / "var" / "test-e2e-broker")
    if not broker.answers():
        broker.start()
    yield broker
    stop_later(broker.stop)


@pytest.fixture(scope="session", params=VARIANTS)
def system(request, stop_later):
    """Start one variant for the whole session; stop it (and check it stopped) at the end, in
    the background (no other fixture uses its ports or folder)."""
    variant = request.param
    env = moved_ports(variant, PORT_OFFSET)
    if variant == "choreo":
        env["AMQP_URL"] = TEST_AMQP_URL
        request.getfixturevalue("test_broker")
    env["POSTGRES_PORT"] = TEST_POSTGRES_PORTS[variant]
    running = RunningVariant(variant, ROOT / "var" / f"test-e2e-{variant}", env, db=E2E_DB)
    running.start()
    yield running
    supervised = running.pids()
    stop_later(lambda: _stop_and_check(running, supervised))


def _stop_and_check(running, supervised):
    took = running.stop()
    print(f"\nrunner for {running.variant} stopped in {took:.1f}s")
    assert supervised and not [pid for pid in supervised if _alive(pid)], \
        "the runner left processes behind"


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


@pytest.fixture
def http():
    """A requests session for one test."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def audit_where(system):
    """Where the audit reads the broker's queues (choreo) or the unfinished sagas (orch)."""
    if system.variant == "choreo":
        return {"amqp_url": TEST_AMQP_URL}
    return {"orchestrator_url": system.url("orchestrator")}


@pytest.fixture
def urls(system):
    """The base URL of each service of the running variant."""
    return {s: system.url(s) for s in config.SERVICES}
