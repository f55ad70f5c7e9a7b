"""Contract-test fixtures: each variant started through the runner, on ports of its own.

The variants run on PORT_OFFSET 20000, apart from the end-to-end ones (10000), and live for
this folder only (module scope), so the requests schemathesis generates never reach a variant
whose invariants another test audits.
"""
import pytest

from shared import config
from tests.e2e.conftest import TEST_AMQP_URL, TEST_POSTGRES_PORT, VARIANTS, test_broker  # noqa: F401
from tests.support import ROOT, RunningVariant, moved_ports

PORT_OFFSET = 20000


@pytest.fixture(scope="module", params=VARIANTS)
def system(request):
    """Start one variant for this module's tests; stop it after them."""
    variant = request.param
    env = moved_ports(variant, PORT_OFFSET)
    if variant == "choreo":
        env["AMQP_URL"] = TEST_AMQP_URL
        request.getfixturevalue("test_broker")
    env["POSTGRES_PORT"] = TEST_POSTGRES_PORT
    running = RunningVariant(variant, ROOT / "var" / f"test-contract-{variant}", env)
    running.start()
    yield running
    running.stop()


def services(variant):
    """Return the names of a variant's HTTP services (the orchestrator only in orch)."""
    return list(config.DEFAULT_PORTS[variant])
