"""Start OpenTelemetry in one program: who it is (the resource), where its spans go (the exporter).

Called once per process, after gunicorn forked its worker (never at import time): a batch
processor's thread does not survive a fork. With OTEL_EXPORTER_OTLP_ENDPOINT set, spans go
over OTLP/HTTP to a collector (Jaeger in compose); otherwise to the variant's JSON-lines file
(jsonfile.py), which `make trace` reads. OTEL_SDK_DISABLED=true installs nothing at all: the
API's default no-op tracer then makes every span in this package free.
"""
import functools
import threading

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from shared.runtime import config
from shared.tracing.jsonfile import JsonLinesExporter

_lock = threading.Lock()
_started = []


def setup(service, program=None):
    """Install this process's tracer provider once; return False when tracing is off."""
    if not config.tracing_enabled():
        return False
    with _lock:
        if _started:
            return True
        resource = Resource.create({"service.name": service, "service.namespace":
                                    config.variant(), "process.role": program or service})
        provider = TracerProvider(resource=resource)
        # Trade-off 41: spans are written in batches by a background thread, off the request's
        # path; the price is that a process killed with -9 loses its last OTEL_BSP_SCHEDULE_DELAY
        # ms of spans (a crashed consumer's last attempt never shows up in its trace).
        provider.add_span_processor(BatchSpanProcessor(
            _exporter(), schedule_delay_millis=config.trace_flush_ms()))
        trace.set_tracer_provider(provider)
        _started.append(provider)
        return True


def _exporter():
    if config.otlp_endpoint():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_ENDPOINT and appends /v1/traces
    return JsonLinesExporter(config.trace_file())


def flush():
    """Write every finished span now (tests, and before a planned exit)."""
    for provider in _started:
        provider.force_flush()


@functools.lru_cache(maxsize=None)  # get_tracer builds a new tracer (and its scope) per call
def tracer():
    """Return the tracer of this project's own spans (made once per process)."""
    return trace.get_tracer("orders-saga")
