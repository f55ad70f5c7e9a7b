"""The tracing profile's stand-in receiver (deploy/standins/otlp/receiver.py) reads what the
services' OTLP exporter really sends: the request is encoded by the exporter's own encoder."""
import importlib.util

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support import ROOT


def _receiver():
    path = ROOT / "deploy" / "standins" / "otlp" / "receiver.py"
    spec = importlib.util.spec_from_file_location("otlp_receiver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _spans(service, count):
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for n in range(count):
        with provider.get_tracer("test").start_as_current_span(f"span-{n}"):
            pass
    return memory.get_finished_spans()


def test_the_stand_in_counts_each_services_spans_from_an_export_request():
    receiver = _receiver()
    request = encode_spans(list(_spans("payments", 3)) + list(_spans("orders", 2)))
    receiver.count(request.SerializeToString())
    assert receiver.SPANS == {"payments": 3, "orders": 2}
