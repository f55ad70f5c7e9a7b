"""Print one order's trace from the variant's trace file as an indented waterfall: `make trace`.

    python -m ops.traces <order_id> --variant choreo|orch

Each line: start offset from the first span, duration, status, service, operation (indented
under its parent); a span with ERROR status is marked with `<-- failed` and its reason. A
trace is found by the `order.id` attribute our spans carry; every span of that trace is shown.
"""
import argparse
import json
import sys
from urllib.parse import urlsplit

from shared.runtime import config


def read_spans(path):
    """Return every span in a trace file (a line cut short by a crash is skipped)."""
    spans = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            try:
                spans.append(json.loads(line))
            except ValueError:
                continue
    return spans


def traces_of(spans, order_id):
    """Return {trace_id: [spans]} of the traces that have a span tagged with the order."""
    ids = {s["trace_id"] for s in spans if (s.get("attributes") or {}).get("order.id") == order_id}
    return {tid: [s for s in spans if s["trace_id"] == tid] for tid in sorted(ids)}


def waterfall(spans):
    """Return the lines of one trace: parents before children, siblings by start time."""
    by_id = {s["span_id"]: s for s in spans}
    children = {}
    for span in spans:
        parent = span["parent_id"] if span["parent_id"] in by_id else None
        children.setdefault(parent, []).append(span)
    start = min(s["start_ns"] for s in spans)
    lines = []

    def walk(parent, depth):
        for span in sorted(children.get(parent, []), key=lambda s: s["start_ns"]):
            lines.append(_line(span, depth, start))
            walk(span["span_id"], depth + 1)
    walk(None, 0)
    return lines


def _line(span, depth, start):
    offset_ms = (span["start_ns"] - start) / 1e6
    took_ms = (span["end_ns"] - span["start_ns"]) / 1e6
    status = {"ERROR": "ERROR", "OK": "ok"}.get(span["status"], "ok")
    failed = f"  <-- failed: {_reason(span)}" if span["status"] == "ERROR" else ""
    return (f"{offset_ms:>9.1f} {took_ms:>8.1f}  {status:<5}  {span['service']:<13}  "
            f"{'  ' * depth}{_operation(span)}{failed}")


def _operation(span):
    url = span["attributes"].get("url.full") or span["attributes"].get("http.url")
    if span["kind"] == "CLIENT" and url:  # requests names its spans by method only
        return f"{span['name']} {urlsplit(url).path}"
    return span["name"]


def _reason(span):
    code = span["attributes"].get("http.response.status_code") or \
        span["attributes"].get("http.status_code")
    return span.get("error") or (f"HTTP {code}" if code else "")


def main(argv=None):
    """Print the order's trace(s); exit 1 when none is found."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("order_id")
    parser.add_argument("--variant", default=config.variant(), choices=["choreo", "orch"])
    args = parser.parse_args(argv)
    path = config.trace_file(args.variant)
    found = traces_of(read_spans(path), args.order_id) if path.exists() else {}
    if not found:
        print(f"no trace of order {args.order_id} in {path} (spans are written about every "
              f"{config.trace_flush_ms()} ms; with OTEL_EXPORTER_OTLP_ENDPOINT set they go "
              "there instead)", file=sys.stderr)
        return 1
    for trace_id, spans in found.items():
        services = sorted({s["service"] for s in spans})
        print(f"trace {trace_id}: order {args.order_id}, {len(spans)} spans, "
              f"{len(services)} services ({', '.join(services)})")
        print(f"{'start ms':>9} {'took ms':>8}  {'status':<5}  {'service':<13}  operation")
        print("\n".join(waterfall(spans)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
