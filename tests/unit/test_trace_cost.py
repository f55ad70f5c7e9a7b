"""`make trace-cost` (scripts/trace_cost.py) measures all three variants, each started with its
own settings, tracing off and on in every round. The drains themselves are replaced here by a
fake that records what it was asked to measure: they need a running system (`make trace-cost`)."""
import pytest

from load.variant import moved_ports
from scripts import trace_cost


def test_orch_over_rabbitmq_is_the_orchestrated_programs_with_the_amqp_transport():
    env = trace_cost.settings("orch-amqp", tracing_on=True)
    assert env["ORCH_TRANSPORT"] == "amqp" and env["AMQP_URL"] == trace_cost.AMQP_URL
    assert env["OTEL_SDK_DISABLED"] == "false"
    moved = moved_ports("orch", trace_cost.PORT_OFFSET)
    assert {name: env[name] for name in moved} == moved


def test_orch_is_over_http_whatever_the_shell_says(monkeypatch):
    monkeypatch.setenv("ORCH_TRANSPORT", "amqp")
    env = trace_cost.settings("orch", tracing_on=False)
    assert env["ORCH_TRANSPORT"] == "http" and env["OTEL_SDK_DISABLED"] == "true"


class _Broker:
    def __init__(self, *_args):
        self.started = False

    def answers(self):
        return False

    def start(self):
        self.started = True

    def stop(self):
        pass


@pytest.fixture
def measured(monkeypatch):
    """Run main() with fake drains: return the (variant, tracing_on) of each, and the figures."""
    asked, recorded = [], {}

    def fake_measure(variant, tracing_on, count, threads):
        asked.append((variant, tracing_on))
        return (30.0, 10.0, 52.0) if tracing_on else (25.0, 10.0, None)

    monkeypatch.setattr(trace_cost, "measure", fake_measure)
    monkeypatch.setattr("runner.broker.Broker", _Broker)
    monkeypatch.setattr(trace_cost, "_record",
                        lambda _line, _settings, figures: recorded.update(figures))
    return asked, recorded


def test_by_default_every_round_measures_the_three_variants_both_ways(measured):
    asked, figures = measured
    trace_cost.main(["--rounds", "2"])
    assert sorted(asked) == sorted([(variant, on) for variant in ("choreo", "orch", "orch-amqp")
                                    for on in (False, True)] * 2)
    assert set(figures) == {"choreo", "orch", "orch-amqp"}
    assert figures["orch-amqp"]["cost_ms"]["median"] == pytest.approx(5.0)
    assert figures["orch-amqp"]["spans_per_order"] == {"median": 52.0, "low": 52.0, "high": 52.0}


def test_one_variant_can_be_measured_alone(measured):
    asked, figures = measured
    trace_cost.main(["--rounds", "1", "--variant", "orch-amqp"])
    assert sorted(asked) == [("orch-amqp", False), ("orch-amqp", True)]
    assert set(figures) == {"orch-amqp"}


@pytest.fixture
def runner(monkeypatch, tmp_path):
    """Stand in for the runner: record how each variant was started, start nothing; its var
    directory is tmp_path. Return the list of (style, var directory name, ORCH_TRANSPORT)."""
    started = []

    class Running:
        def __init__(self, style, var_dir, env):
            started.append((style, var_dir.name, env["ORCH_TRANSPORT"]))
            self.var_dir, self.variant = tmp_path, style

        def start(self):
            pass

        def stop(self):
            pass

        def pids(self):
            return []

    monkeypatch.setattr(trace_cost, "RunningVariant", Running)
    monkeypatch.setattr(trace_cost.time, "sleep", lambda _s: None)
    return started


def test_a_drain_starts_the_variants_programs_through_the_runner(runner, monkeypatch):
    monkeypatch.setattr(trace_cost, "drain", lambda _running, _count, _threads: 1.0)
    assert trace_cost.measure("orch-amqp", True, 10, 2) == (0.0, 1.0, 0.0)
    assert trace_cost.measure("orch-amqp", False, 10, 2) == (0.0, 1.0, None)
    assert runner == [("orch", "trace-cost-orch-amqp", "amqp")] * 2


def test_the_spans_per_order_are_those_the_drain_wrote(runner, monkeypatch, tmp_path):
    trace_file = tmp_path / "orch" / "traces.jsonl"
    trace_file.parent.mkdir()
    trace_file.write_text('{"name": "start-up"}\n' * 7)  # written before the drain

    def drain(_running, count, _threads):
        with trace_file.open("a") as spans:
            spans.write('{"name": "POST /orders"}\n' * (count * 52))
        return 1.0

    monkeypatch.setattr(trace_cost, "drain", drain)
    assert trace_cost.measure("orch-amqp", True, 10, 2)[2] == 52.0
