"""The tracing layer without servers: a trace context through a stored row and a message's
headers, the JSON-lines file, and the waterfall `make trace` prints."""
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from shared import tracing
from ops import traces
from shared.tracing.jsonfile import JsonLinesExporter


@pytest.fixture
def tracer(tmp_path):
    """Give a tracer whose spans are written at once to tmp_path/traces.jsonl."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(tmp_path / "traces.jsonl")))
    yield provider.get_tracer("test")
    provider.shutdown()


def test_a_context_stored_in_a_row_and_sent_in_headers_keeps_one_trace(tracer, tmp_path):
    with tracer.start_as_current_span("POST /orders") as request:
        request.set_attribute("order.id", "o-1")
        row_headers = tracing.headers_json()  # what the outbox stores
    with tracing.continued(tracing.from_json(row_headers)):  # the relay, later
        with tracer.start_as_current_span("publish order.placed", kind=SpanKind.PRODUCER):
            amqp = {k: v.encode() for k, v in tracing.inject().items()}  # pika may give bytes
    tracer.start_span("inventory.events process", context=tracing.extract(amqp)).end()
    found = traces.traces_of(traces.read_spans(tmp_path / "traces.jsonl"), "o-1")
    assert len(found) == 1
    spans = {s["name"]: s for s in next(iter(found.values()))}
    assert spans["publish order.placed"]["parent_id"] == spans["POST /orders"]["span_id"]
    assert spans["inventory.events process"]["parent_id"] == \
        spans["publish order.placed"]["span_id"]


def test_outside_any_span_nothing_is_stored_and_nothing_breaks():
    assert tracing.headers_json() is None
    assert tracing.from_json(None) == {} and tracing.from_json("not json") == {}
    with tracing.continued({}):
        pass


def test_the_waterfall_indents_children_and_marks_the_failing_step():
    def span(span_id, parent, name, start, status="UNSET", error=None):
        return {"trace_id": "t", "span_id": span_id, "parent_id": parent, "name": name,
                "kind": "INTERNAL", "service": "payments", "start_ns": start * 10**6,
                "end_ns": (start + 5) * 10**6, "status": status, "error": error,
                "attributes": {}}
    lines = traces.waterfall([span("b", "a", "handle stock.reserved", 12, "ERROR", "declined"),
                            span("a", None, "payments.events process", 10)])
    assert lines[0].split()[:2] == ["0.0", "5.0"] and lines[0].endswith("payments.events process")
    assert lines[1].endswith("  handle stock.reserved  <-- failed: declined")
    assert "ERROR" in lines[1]


def test_make_trace_says_so_when_the_order_has_no_trace(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    assert traces.main(["no-such-order", "--variant", "choreo"]) == 1
    assert "no trace of order no-such-order" in capsys.readouterr().err
