"""A span exporter of our own: one JSON object per span, appended to a file the whole variant
shares. Plumbing for `make trace`, not the lesson; a real deployment points
OTEL_EXPORTER_OTLP_ENDPOINT at a collector instead.

Several processes append to the same file. Each batch is ONE write() on a file opened with
O_APPEND, so the lines of two processes never interleave mid-line.
"""
import json
import os
import threading

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class JsonLinesExporter(SpanExporter):
    """Append finished spans to `path` as JSON lines."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.fd = None

    def export(self, spans):
        """Write one batch of spans in one append."""
        text = "".join(json.dumps(to_dict(span), separators=(",", ":")) + "\n" for span in spans)
        with self.lock:
            if self.fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self.fd, text.encode("utf-8"))
        return SpanExportResult.SUCCESS

    def shutdown(self):
        """Close the file."""
        with self.lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None


def to_dict(span):
    """Return what `make trace` needs of a span: ids, names, times, status, attributes."""
    parent = span.parent.span_id if span.parent else None
    return {"trace_id": f"{span.context.trace_id:032x}", "span_id": f"{span.context.span_id:016x}",
            "parent_id": f"{parent:016x}" if parent else None, "name": span.name,
            "kind": span.kind.name, "service": span.resource.attributes.get("service.name"),
            "start_ns": span.start_time, "end_ns": span.end_time,
            "status": span.status.status_code.name, "error": span.status.description,
            "attributes": dict(span.attributes or {})}
