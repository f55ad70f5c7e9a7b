"""The OTLP path: with OTEL_EXPORTER_OTLP_ENDPOINT set, a program's spans reach a collector as
OTLP/HTTP protobuf (what Jaeger receives in compose); with OTEL_SDK_DISABLED=true, nothing does."""
import http.server
import os
import subprocess
import sys
import threading

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest, ExportTraceServiceResponse)

from tests.support import ROOT

# A program's life in miniature: start tracing as every service does, write an event's trace
# context as the outbox does, and continue it later as the relay does.
PROGRAM = """
from shared import tracing
tracing.setup("payments", "payments-worker")
with tracing.tracer().start_as_current_span("handle stock.reserved"):
    stored = tracing.headers_json()
with tracing.continued(tracing.from_json(stored)):
    with tracing.tracer().start_as_current_span("publish payment.captured"):
        pass
print(stored)
"""


class Receiver(http.server.ThreadingHTTPServer):
    """A tiny OTLP/HTTP collector: decodes every POST to /v1/traces and keeps its spans."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests, self.paths = [], []


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the name http.server calls)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.paths.append((self.path, self.headers["Content-Type"]))
        self.server.requests.append(ExportTraceServiceRequest.FromString(body))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    """Start the receiver on a free port; stop it after the test."""
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def run_program(receiver, tmp_path, **env):
    """Run PROGRAM with its spans sent to the receiver; return its stdout."""
    environment = dict(os.environ, VAR_DIR=str(tmp_path), VARIANT="choreo", **env,
                       OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{receiver.server_port}")
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_spans_go_over_otlp_http_to_the_endpoint_and_keep_parent_links(receiver, tmp_path):
    run_program(receiver, tmp_path)
    assert receiver.paths and all(path == ("/v1/traces", "application/x-protobuf")
                                  for path in receiver.paths)
    spans, services = {}, set()
    for request in receiver.requests:
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            services.add(attributes["service.name"])
            for scope in resource_spans.scope_spans:
                spans.update({span.name: span for span in scope.spans})
    assert services == {"payments"}
    handle, publish = spans["handle stock.reserved"], spans["publish payment.captured"]
    assert publish.trace_id == handle.trace_id and publish.parent_span_id == handle.span_id
    assert not (tmp_path / "choreo" / "traces.jsonl").exists(), "OTLP replaces the file"


def test_otel_sdk_disabled_sends_nothing_and_stores_no_context(receiver, tmp_path):
    stored = run_program(receiver, tmp_path, OTEL_SDK_DISABLED="true")
    assert stored.strip() == "None" and receiver.requests == []
