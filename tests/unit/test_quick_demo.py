"""`make demo-quick` (scripts/demo.py) runs every variant of the harness, orch-amqp as the
orchestrated programs with ORCH_TRANSPORT=amqp, on the ports of the programs it starts."""
import io

import pytest

from scripts import demo


class FakeRunner:
    """What subprocess.Popen returns: a runner that says it is up and keeps running."""
    started = []

    def __init__(self, command, env, **_):
        FakeRunner.started.append((command[-1], env.get("ORCH_TRANSPORT")))
        self.stdout = io.StringIO(f"runner: {command[-1]} is up\n")

    def poll(self):
        return None

    def terminate(self):
        pass

    def wait(self, timeout):
        return 0


@pytest.fixture
def runs(monkeypatch):
    FakeRunner.started = []
    placed = []
    monkeypatch.setattr(demo.subprocess, "Popen", FakeRunner)
    monkeypatch.setattr(demo, "place_each_outcome", placed.append)
    monkeypatch.setenv("ORCH_TRANSPORT", "amqp")  # a shell's own setting changes no column
    return placed


def test_every_variant_runs_in_turn_with_its_programs_and_transport(runs):
    demo.main([])
    assert runs == ["choreo", "orch", "orch-amqp"]
    assert FakeRunner.started == [("choreo", "amqp"), ("orch", "http"), ("orch", "amqp")]


def test_orch_amqp_alone_starts_the_orchestrated_programs_and_asks_their_ports(runs):
    demo.main(["--variant", "orch-amqp"])
    assert runs == ["orch-amqp"] and FakeRunner.started == [("orch", "amqp")]
    assert demo.urls("orch-amqp") == demo.urls("orch") != demo.urls("choreo")
    assert demo.urls("orch-amqp")["orders"] == "http://127.0.0.1:8002"
