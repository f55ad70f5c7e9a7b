"""A stand-in OTLP/HTTP trace receiver (see the Dockerfile beside it): it decodes just enough of
each ExportTraceServiceRequest (protobuf) to count spans per `service.name`, and answers the
two questions the tests ask of Jaeger: which services sent spans, and is it up."""
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SPANS = {}  # service.name -> spans received
LOCK = threading.Lock()


def fields(buffer):
    """Yield (field number, value) of a protobuf message: bytes for a length-delimited field,
    an int for the others."""
    at = 0
    while at < len(buffer):
        key, at = varint(buffer, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(buffer, at)
        elif wire == 2:
            length, at = varint(buffer, at)
            value, at = buffer[at:at + length], at + length
        else:  # 1: 64-bit, 5: 32-bit
            size = 8 if wire == 1 else 4
            value, at = int.from_bytes(buffer[at:at + size], "little"), at + size
        yield number, value


def varint(buffer, at):
    shift = value = 0
    while True:
        byte = buffer[at]
        value, at, shift = value | (byte & 0x7F) << shift, at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def service_name(resource):
    for number, attribute in fields(resource):
        if number != 1:
            continue
        pairs = dict(fields(attribute))  # KeyValue: 1 key, 2 AnyValue
        if pairs.get(1) == b"service.name":
            return dict(fields(pairs.get(2, b""))).get(1, b"").decode()
    return "unknown"


def count(request):
    """Add the spans of one ExportTraceServiceRequest to SPANS."""
    for number, resource_spans in fields(request):
        if number != 1:
            continue
        parts = list(fields(resource_spans))
        name = next((service_name(v) for n, v in parts if n == 1), "unknown")
        spans = sum(1 for n, scope in parts if n == 2 for m, _ in fields(scope) if m == 2)
        with LOCK:
            SPANS[name] = SPANS.get(name, 0) + spans


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path != "/v1/traces":
            return self.answer(404, {"error": "only /v1/traces"})
        count(body)
        self.answer(200, None, b"", "application/x-protobuf")

    def do_GET(self):
        with LOCK:
            found = dict(SPANS)
        if self.path.startswith("/api/services"):
            return self.answer(200, {"data": sorted(found), "spans": found})
        self.answer(200, {"status": "up"})

    def answer(self, status, data, raw=None, kind="application/json"):
        payload = raw if raw is not None else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    for port in (4318, 16686, 14269):
        server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait()
