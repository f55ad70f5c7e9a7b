"""Carry a trace across a gap that no library sees: a database row, a message, hours of waiting.

Over HTTP the instrumentations do this for us (a `traceparent` header on every request). An
outbox row or a saga row is ours, so we do what they do by hand: `inject` writes the current
span's W3C trace context into a dict, `extract` reads it back, and `continued(carrier)` makes
whatever runs inside a child of the span that wrote it, in any thread, process or hour.
"""
import json
from contextlib import contextmanager

from opentelemetry import context, propagate, trace


def inject(carrier=None):
    """Write the current trace context (`traceparent`, `tracestate`) into carrier; return it."""
    carrier = {} if carrier is None else carrier
    propagate.inject(carrier)
    return carrier


def extract(carrier):
    """Return the OpenTelemetry context stored in a carrier dict (empty when there is none)."""
    text = {str(k): v.decode("utf-8", "replace") if isinstance(v, bytes) else v
            for k, v in (carrier or {}).items()}  # AMQP headers may arrive as bytes
    return propagate.extract({k: v for k, v in text.items() if isinstance(v, str)})


def headers_json():
    """Return the current trace context as JSON text for an outbox row, or None outside a trace."""
    carrier = inject()
    return json.dumps(carrier) if carrier else None


def from_json(text):
    """Return the carrier dict stored by headers_json() (empty for NULL or bad text)."""
    try:
        carrier = json.loads(text) if text else {}
    except ValueError:
        return {}
    return carrier if isinstance(carrier, dict) else {}


@contextmanager
def continued(carrier):
    """Run the block as part of the trace stored in carrier (as if that span were current)."""
    token = context.attach(extract(carrier))
    try:
        yield
    finally:
        context.detach(token)


def mark_failed(reason, span=None):
    """Set ERROR status on the span (default: the current one): `make trace` marks it."""
    (span or trace.get_current_span()).set_status(trace.StatusCode.ERROR, str(reason)[:300])


def set_order(order_id, span=None):
    """Tag the span with the order it works on: how `make trace` finds an order's trace."""
    if order_id:
        (span or trace.get_current_span()).set_attribute("order.id", str(order_id))
