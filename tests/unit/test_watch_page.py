"""The page's server without the variants: its control endpoint serves this machine only,
and bad requests get a 4xx with a JSON error, never a 500."""
import json
import re
import shutil
import subprocess

import pytest

from tests.support import ROOT
from watch import control
from watch.app import create_app

GOOD = {"variant": "orch", "action": "stop", "service": "payments"}


@pytest.fixture
def client():
    """A test client of the page's app (nothing is started: no variant needs to run)."""
    return create_app().test_client()


def test_the_control_endpoint_refuses_a_client_that_is_not_on_this_machine(client):
    answer = client.post("/api/control", json=GOOD, environ_base={"REMOTE_ADDR": "192.168.1.20"})
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "forbidden"
    assert "192.168.1.20 is not a loopback client" in answer.json["error"]["message"]


def test_the_control_endpoint_refuses_a_host_name_other_than_this_machine(client):
    answer = client.post("/api/control", json=GOOD, headers={"Host": "attacker.example:8080"},
                         environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert answer.status_code == 403
    assert "attacker.example" in answer.json["error"]["message"]


@pytest.mark.parametrize("body", [None, [], {"variant": "orch"},
                                  {**GOOD, "action": "rm -rf"}, {**GOOD, "service": ["payments"]}])
def test_the_control_endpoint_answers_400_to_a_request_it_does_not_know(client, body):
    answer = client.post("/api/control", json=body, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert answer.status_code == 400 and "error" in answer.json


@pytest.mark.parametrize("url, body, status", [
    ("/api/choreo/orders", {"outcome": "free_lunch"}, 400),
    ("/api/choreo/orders", {"outcome": "completed", "count": 0}, 400),
    ("/api/orch/orders", {"outcome": "completed", "count": "3"}, 400),
    ("/api/kafka/orders", {"outcome": "completed"}, 404),
])
def test_placing_orders_answers_4xx_with_a_json_error_to_bad_input(client, url, body, status):
    answer = client.post(url, json=body)
    assert answer.status_code == status and answer.json["error"]["message"]


def test_every_action_shows_a_make_command_that_exists_and_names_the_runner_command_it_runs():
    targets = set(re.findall(r"^([a-z0-9-]+):", (ROOT / "Makefile").read_text(), re.M))
    for variant in ("choreo", "orch"):
        for action in control.ACTIONS:
            argv, make = control.commands(variant, action, "payments")
            assert make.split()[1] in targets
            assert argv[1:3] == ["-m", "runner"] and variant in argv
            assert f"SERVICE={argv[5]}" in make  # the same program in both


def test_the_program_that_does_a_service_s_work_is_the_worker_in_choreo_and_the_api_in_orch():
    assert control.program("choreo", "payments") == "payments-worker"
    assert control.program("orch", "payments") == "payments-api"


# --- What the page holds of each variant when both share one broker (`make up-both`, the
# orchestrated one started with ORCH_TRANSPORT=amqp): small fakes of the broker and the APIs. ---

SHARED_BROKER = ["dead-letters", "inventory.commands", "inventory.commands.retry",
                 "orchestrator-0.replies", "payments.events", "payments.events.retry"]


class FakeDepths:
    """The broker's queues, as holding.QueueDepths reads them."""

    def read(self):
        return [{"queue": name, "ready": 0, "consumers": 1} for name in SHARED_BROKER]


class FakeAPIs:
    """An orchestrator whose /health says `transport`, and empty lists everywhere else."""

    def __init__(self, transport):
        self.transport = transport

    def get(self, url, params=None, timeout=None):
        body = {"status": "ok", "transport": self.transport} if url.endswith("/health") \
            else {"items": [], "next": None}
        return type("Answer", (), {"json": lambda self: body})()


def test_over_amqp_the_orchestrated_column_names_its_transport_and_holds_its_queues():
    from watch import holding
    orch = holding.orch(FakeAPIs("amqp"), FakeDepths())
    assert orch["transport"] == "amqp"
    assert [q["queue"] for q in orch["queues"]] == ["inventory.commands",
                                                    "inventory.commands.retry",
                                                    "orchestrator-0.replies"]
    choreo = holding.choreo(FakeAPIs("amqp"), FakeDepths())
    assert [q["queue"] for q in choreo["queues"]] == ["dead-letters", "payments.events",
                                                      "payments.events.retry"]


def test_over_http_the_orchestrated_column_holds_no_queue():
    from watch import holding
    orch = holding.orch(FakeAPIs("http"), FakeDepths())
    assert orch["transport"] == "http" and orch["queues"] == []


# drawHolding() of watch/static/panels.js, run by Node on a panel with just what it touches.
DRAW = """
const vm = require("vm"), fs = require("fs");
const small = {textContent: "calling services over HTTP"};
const panel = {innerHTML: "", closest: () => ({querySelector: () => small})};
vm.runInNewContext(fs.readFileSync(process.argv[1], "utf8") +
    "\\ndrawHolding(panel, 'orch', numbers);", {panel, numbers: JSON.parse(process.argv[2])});
console.log(JSON.stringify({html: panel.innerHTML, title: small.textContent}));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_page_draws_the_transport_and_the_queues_of_the_orchestrated_column():
    from watch import holding
    numbers = {**holding.orch(FakeAPIs("amqp"), FakeDepths()), "shed": 0}
    drawn = json.loads(subprocess.run(
        ["node", "-e", DRAW, str(ROOT / "watch" / "static" / "panels.js"), json.dumps(numbers)],
        capture_output=True, text=True, check=True, timeout=30).stdout)
    assert 'data-transport="amqp"' in drawn["html"]
    assert 'data-queue="orchestrator-0.replies"' in drawn["html"]
    assert 'data-queue="payments.events"' not in drawn["html"]
    assert "RabbitMQ" in drawn["title"]
