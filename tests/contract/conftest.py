"""Contract-test fixtures: each variant started through the runner, on ports of its own.

The variants run on PORT_OFFSET 20000, apart from the end-to-end ones (10000), and live for
this folder only (module scope), so the requests schemathesis generates never reach a variant
whose invariants another test audits. They follow the end-to-end tests' database
(`make test-e2e DB=postgres` runs both folders on PostgreSQL), on a cluster of their own.
"""
import secrets

import pytest

from shared.runtime import config
from tests.e2e.conftest import E2E_DB, TEST_AMQP_URL, VARIANTS, test_broker  # noqa: F401
from tests.support import ROOT, RunningVariant, moved_ports

PORT_OFFSET = 20000
# Not the end-to-end cluster's port: the runner reuses a PostgreSQL that answers, and its
# databases are named by variant, so a shared cluster would mix the fuzzer's rows into the
# databases whose invariants the end-to-end tests audit (both run in one pytest session).
# One cluster per variant, each on a port of its own: the first variant stops in the background
# while the second starts (stop_later).
CONTRACT_POSTGRES_PORTS = {"choreo": "15435", "orch": "15440"}
# The variant's service credential, so that schemathesis reaches the internal commands' bodies
# too (without it every internal operation only answers 403: tests/e2e/test_internal_surface.py).
SERVICE_TOKEN = secrets.token_urlsafe(16)


@pytest.fixture(scope="module", params=VARIANTS)
def system(request, stop_later):
    """Start one variant for this module's tests; stop it after them, in the background (no
    other folder uses its ports)."""
    variant = request.param
    env = moved_ports(variant, PORT_OFFSET)
    if variant == "choreo":
        env["AMQP_URL"] = TEST_AMQP_URL
        request.getfixturevalue("test_broker")
    env["POSTGRES_PORT"] = CONTRACT_POSTGRES_PORTS[variant]
    env["SERVICE_TOKEN"] = SERVICE_TOKEN
    running = RunningVariant(variant, ROOT / "var" / f"test-contract-{variant}", env, db=E2E_DB)
    running.start()
    yield running
    stop_later(running.stop)


def services(variant):
    """Return the names of a variant's HTTP services (the orchestrator only in orch)."""
    return list(config.DEFAULT_PORTS[variant])
