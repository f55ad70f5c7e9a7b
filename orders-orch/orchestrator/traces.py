"""The orchestrator's own spans: one per drive of a saga, one per step and per compensation.

Under one orchestrator, tracing is nearly free: each step is an HTTP call, and the requests
and Flask instrumentations link the caller's span to the callee's. The one gap is time: a saga
that outlives its request (202, then the recovery loop, maybe on another replica after a
crash) runs in a thread where no span is current. So the saga keeps the trace context of the
request that started it in its `data` (key `trace_context`), and every drive continues it.
Over RabbitMQ (ORCH_TRANSPORT=amqp) no drive waits for a step: each command sent is a span
continuing that same context, and each reply applied is a span under the reply's delivery.
Twin: none; in choreography the trace travels in each outbox row instead (shared/tracing/).
"""
from contextlib import contextmanager

from opentelemetry.trace import SpanKind

from shared import tracing
from orchestrator.policy import SUCCEEDED
from orchestrator.steps import RUNNING, UNDO

TRACE_KEY = "trace_context"


def with_trace(order):
    """Return the saga's data: the order and the trace context of the current request."""
    # Trade-off 42: the context rides in the saga row, so a resumed saga joins its order's trace
    # even hours later on another replica; the price is one trace that can span hours, whose
    # first spans a collector with a short retention has already dropped.
    return {**order, TRACE_KEY: tracing.inject()}


@contextmanager
def saga_span(saga):
    """Run one drive of a saga as a child of the request that started it; yield the span."""
    resumed = saga["cursor"] > 0 or saga["state"] != RUNNING or saga["retries"] > 0
    with tracing.continued(saga["data"].get(TRACE_KEY)):
        with tracing.tracer().start_as_current_span("saga drive", attributes={
                "order.id": saga["order_id"], "saga.state.from": saga["state"],
                "saga.cursor.from": saga["cursor"], "saga.resumed": resumed}) as span:
            yield span


def finished(span, saga):
    """Note where the drive left the saga; return the saga."""
    span.set_attribute("saga.state", saga["state"])
    if saga.get("reason"):
        span.set_attribute("saga.reason", saga["reason"])
    return saga


def traced(send):
    """Wrap the transport's send() so that each step's call runs in a span of its own."""
    def send_in_span(step, call, kind, state, correlation_id):
        name = f"{'compensate' if kind == UNDO else 'step'} {call.name}"
        with tracing.tracer().start_as_current_span(name, attributes={
                "order.id": state["order_id"], "saga.service": step.service,
                "saga.step": call.name}) as span:
            answer = send(step, call, kind, state, correlation_id)
            span.set_attribute("saga.answer", answer.kind)
            if answer.kind != SUCCEEDED:  # a refusal, or a failure left for recovery
                tracing.mark_failed(f"{answer.kind}: {answer.code or answer.error}", span)
            return answer
    return send_in_span


# --- ORCH_TRANSPORT=amqp (messaging_driver.py): no drive waits, so a step is two spans ----------
@contextmanager
def command_span(saga, step, call, kind, key):
    """Queue a step's command inside a span of its own, a child of the request that started the
    saga (as a drive is over HTTP): the outbox row, and so the command's headers, carry it, and
    the service's delivery of the command becomes its child (shared/tracing/messaging.py)."""
    name = f"{'compensate' if kind == UNDO else 'step'} {call.name}"
    # Trade-off 88: a command's span is a child of the saga's request, not of the reply that
    # caused it, so the steps read as siblings in order, as over HTTP, and a resend by the
    # recovery loop lands beside them. The price: that a reply caused the next command shows
    # only in time order (its span ends after the next step's span starts), not as a parent.
    with tracing.continued(saga["data"].get(TRACE_KEY)):
        with tracing.tracer().start_as_current_span(name, kind=SpanKind.PRODUCER, attributes={
                "order.id": saga["order_id"], "saga.service": step.service,
                "saga.step": call.name, "saga.key": key, "saga.retries": saga["retries"]}):
            yield


@contextmanager
def reply_span(saga, step, call, answer):
    """Apply a step's reply inside a span (a child of the reply's delivery); a refusal or a
    failure marks it, as the step's span is marked over HTTP."""
    with tracing.tracer().start_as_current_span(f"reply {call.name}", attributes={
            "order.id": saga["order_id"], "saga.service": step.service, "saga.step": call.name,
            "saga.answer": answer.kind}) as span:
        if answer.kind != SUCCEEDED:
            tracing.mark_failed(f"{answer.kind}: {answer.code or answer.error}", span)
        yield span
