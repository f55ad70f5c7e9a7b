"""Distributed tracing with OpenTelemetry: one trace per order, from POST /orders to the
customer's notification, in both variants.

The layer the rest of the code calls at a few named places:
- provider.setup(service): once per program (the APIs through http.instrument_app, the
  choreographed workers in orders-choreo/service_worker.py);
- context: inject / extract / continued, to carry a trace through a row we store;
- messaging: the outbox, relay and consumer hooks (choreography);
- the orchestrator's saga and step spans live beside it: orders-orch/orchestrator/traces.py.
`python -m ops.traces <order_id>` (`make trace`) prints an order's trace.
"""
from shared.tracing.context import continued, extract, from_json, headers_json, inject, \
    mark_failed, set_order
from shared.tracing.http import instrument_app
from shared.tracing.messaging import deliveries_ended, delivery_started, outbox_headers, \
    publish_span, span_for_handler, within
from shared.tracing.provider import flush, setup, tracer

__all__ = ["continued", "extract", "from_json", "headers_json", "inject", "mark_failed",
           "set_order", "instrument_app", "deliveries_ended", "delivery_started", "outbox_headers",
           "publish_span", "span_for_handler", "within", "flush", "setup", "tracer"]
