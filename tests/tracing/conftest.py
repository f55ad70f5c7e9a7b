"""Tracing fixtures: each variant started through the runner with tracing on (the default),
writing spans to its trace file, on ports and a broker of its own."""
import pytest
import requests

from runner.broker import Broker
from ops.traces import read_spans, traces_of
from tests.support import ROOT, RunningVariant, moved_ports, wait_for

# Not the contract tests' 20000: both folders stop their variants in the background
# (tests/conftest.py), so one may still be stopping while the other starts.
PORT_OFFSET = 14000
TRACING_AMQP_URL = "amqp://guest:guest@127.0.0.1:5674/%2F"  # own node: replays stay ours
FAST = {"OTEL_BSP_SCHEDULE_DELAY": "200", "MAX_ATTEMPTS": "3", "RETRY_DELAY_MS": "300"}


@pytest.fixture(scope="session")
def tracing_broker(stop_later):
    """Start a RabbitMQ node for the tracing tests, once for the session: stopped in the
    background, a node of one module was still stopping when the next module started its own
    on the same port, which then failed (`make test-tracing`: dist_port_already_used)."""
    broker = Broker(TRACING_AMQP_URL, ROOT / "var" / "test-tracing-broker")
    if not broker.answers():
        broker.start()
    yield broker
    stop_later(broker.stop)


@pytest.fixture(scope="module", params=["choreo", "orch"])
def traced(request, stop_later):
    """Start one variant with tracing on; stop it in the background after the module's tests."""
    env = {**moved_ports(request.param, PORT_OFFSET), **FAST}
    if request.param == "choreo":
        env["AMQP_URL"] = TRACING_AMQP_URL
        request.getfixturevalue("tracing_broker")
    running = RunningVariant(request.param, ROOT / "var" / f"test-tracing-{request.param}", env)
    running.start()
    yield running
    stop_later(running.stop)


@pytest.fixture
def http():
    """A requests session for one test."""
    with requests.Session() as session:
        yield session


def trace_file(running):
    """Return the trace file of a running variant."""
    return running.var_dir / running.variant / "traces.jsonl"


def order_traces(running, order_id):
    """Return {trace_id: spans} of every trace that has a span tagged with the order."""
    path = trace_file(running)
    return traces_of(read_spans(path), order_id) if path.exists() else {}


def complete(spans):
    """Return True when every span has its parent in the list but one, the order's request
    (spans reach the file in batches, per process: a child may be written before its parent)."""
    ids = {s["span_id"] for s in spans}
    return [s["name"] for s in spans if s["parent_id"] not in ids] == ["POST /orders"]


def settled_trace(running, order_id, services, timeout=30):
    """Wait until the order's trace covers `services` and every parent is written; return
    {trace_id: spans} (asserting about its length is the caller's job)."""
    def ready():
        found = order_traces(running, order_id)
        spans = [s for group in found.values() for s in group]
        return found if services <= {s["service"] for s in spans} and all(
            complete(group) for group in found.values()) else None
    try:
        return wait_for(ready, timeout=timeout, message=f"the trace of order {order_id}")
    except AssertionError:
        return order_traces(running, order_id)  # let the test say what is missing
