"""The orchestrated variant over RabbitMQ in containers: `make compose-up VARIANT=orch
ORCH_TRANSPORT=amqp` (deploy/compose-amqp.yml over docker-compose.yml). One order of each
outcome ends as over HTTP, and the audit (`make audit VARIANT=orch`) passes, from the host.

It brings the orch profile up on its own and takes it down (a fresh start, like the `system`
fixture of conftest.py), so it runs before or after that fixture's profiles, never inside one.
"""
import os
import sys

import pytest

from shared.runtime import config
from tests.compose.conftest import ComposedVariant, run
from tests.support import OUTCOMES, wait_final


class ComposedOverAmqp(ComposedVariant):
    """The orch profile started with ORCH_TRANSPORT=amqp, as `make compose-up` starts it."""

    def __init__(self):
        super().__init__("orch")
        self.compose += ["-f", "docker-compose.yml", "-f", "deploy/compose-amqp.yml"]

    def up(self):
        os.environ["ORCH_TRANSPORT"] = "amqp"  # what make passes to deploy/compose.sh
        try:
            super().up()
        finally:
            del os.environ["ORCH_TRANSPORT"]


@pytest.fixture(scope="module")
def amqp_system():
    composed = ComposedOverAmqp()
    composed.down()
    composed.up()
    yield composed
    composed.down()


def test_the_orchestrator_container_runs_over_the_compose_broker(amqp_system):
    orchestrator = amqp_system.inspect(amqp_system.container("orch-orchestrator-0"))
    env = dict(item.split("=", 1) for item in orchestrator["Config"]["Env"])
    assert env["ORCH_TRANSPORT"] == "amqp" and env["AMQP_URL"].endswith("@rabbitmq:5672/%2F")
    broker = amqp_system.container("rabbitmq")
    assert broker, "the broker runs in the orch profile"
    queues = run("docker", "exec", broker, "rabbitmqctl", "-q", "list_queues", "name").stdout
    declared = {f"{service}.commands" for service in config.SERVICES} | {"orchestrator-0.replies"}
    assert declared <= set(queues.split()), queues  # by the one-shot, before the programs


def test_each_outcome_ends_as_over_http_and_the_audit_passes(amqp_system, http):
    orders = amqp_system.url("orders")
    placed = {outcome: http.post(f"{orders}/orders", json=body, timeout=60).json()["order_id"]
              for outcome, (body, _, _) in OUTCOMES.items()}
    for outcome, order_id in placed.items():
        order = wait_final(http, orders, order_id, timeout=120)
        assert (order["status"], order.get("reason")) == OUTCOMES[outcome][1:], outcome
    # What `make audit VARIANT=orch` runs, without make's check of the virtualenv's age.
    audited = run(sys.executable, "-m", "audit", "--variant", "orch", check=False, timeout=180)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "no saga stuck" in audited.stdout, audited.stdout
