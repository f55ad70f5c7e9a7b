"""The lesson of tracing a choreography: the trace travels with the event, by hand.

    POST /orders span --(outbox row `headers`)--> relay's `publish` span, seconds later
        --(AMQP headers)--> each consumer's `process` span --> its `handle` span
        --(outbox row of the event it emits)--> the next publish ... --> notifications

1. outbox_headers(): when a handler (or a request) writes an event to the outbox, the current
   span's W3C trace context goes into the row, beside the event it caused.
2. publish_span(row): the relay, in its own thread and maybe after a broker outage, makes its
   publish span a child of that stored context and puts its own context in the message headers.
3. delivery_started(): a consumer's span is a child of the publish that caused the delivery,
   whichever attempt this is: the retry queue, the dead-letter queue and a replay all keep the
   message's headers, so a redelivered or replayed message joins the same trace.
We do not use opentelemetry-instrumentation-pika: its publish span is a child of whatever is
current in the publishing thread, which in the relay is nothing (a new trace per event) unless
we restore the row's context first, and then its span only repeats ours.
"""
from contextlib import contextmanager

from opentelemetry import context, trace
from opentelemetry.trace import SpanKind

from shared.models.base import utcnow
from shared.tracing.context import continued, extract, from_json, headers_json, inject, \
    mark_failed, set_order
from shared.tracing.provider import tracer

REFUSALS = ("stock.rejected", "payment.declined", "shipment.rejected")  # a step said no


def outbox_headers(envelope):
    """Return the trace context to store with this event; tag (and mark) the current span."""
    # Trade-off 43: the context is a column of the outbox row and a header of the message, so
    # a publish seconds later in the relay's thread, a retry and a replay all join the order's
    # trace. It costs ~70 bytes per event twice, and two spans per delivery (process, handle)
    # in every consumer but the tracker (Trade-off 52): a completed order is 20-odd spans.
    set_order(envelope.data.get("order_id"))
    if envelope.type in REFUSALS:  # the failing step of the saga: `make trace` marks it
        mark_failed(f"{envelope.type}: {envelope.data.get('reason')}")
    return headers_json()


@contextmanager
def publish_span(row, exchange):
    """Publish an outbox row as a child of the span that wrote it; yield the AMQP headers."""
    waited = utcnow() - row["created_at"] if row.get("created_at") else None
    with continued(from_json(row.get("headers"))):
        with tracer().start_as_current_span(f"publish {row['routing_key']}", kind=SpanKind.PRODUCER,
                                            attributes=_publish_attributes(row, exchange, waited)):
            yield inject()


def _publish_attributes(row, exchange, waited):
    attributes = {"messaging.system": "rabbitmq", "messaging.operation.type": "send",
                  "messaging.destination.name": exchange,
                  "messaging.rabbitmq.destination.routing_key": row["routing_key"],
                  "messaging.message.id": row["message_id"]}
    if waited is not None:  # how long the event sat in the outbox: the relay's lag
        attributes["outbox.waited_ms"] = round(waited.total_seconds() * 1000, 1)
    return attributes


def delivery_started(queue, method, properties, attempt):
    """Start the span of one delivery as a child of its publish, without making it current:
    a consumer holds a batch of deliveries, and each is made current while it is applied."""
    return tracer().start_span(f"{queue} process", context=extract(properties.headers),
                               kind=SpanKind.CONSUMER, attributes={
                                   "messaging.system": "rabbitmq",
                                   "messaging.operation.type": "process",
                                   "messaging.destination.name": queue,
                                   "messaging.rabbitmq.destination.routing_key":
                                       method.routing_key or "",
                                   "messaging.message.id": properties.message_id or "",
                                   "messaging.attempt": attempt,
                                   "messaging.redelivered": bool(method.redelivered)})


@contextmanager
def within(span):
    """Make a delivery's span the current one while its message is applied (None: a
    delivery of an untraced consumer, which stays outside every trace)."""
    if span is None:
        yield None
        return
    token = context.attach(trace.set_span_in_context(span))
    try:
        yield span
    finally:
        context.detach(token)


def deliveries_ended(deliveries):
    """End the spans of a batch of deliveries (after their ack, retry or dead letter)."""
    for delivery in deliveries:
        if delivery.span is not None:
            delivery.span.end()


@contextmanager
def span_for_handler(service, envelope):
    """Run one event handler in a span of its own, tagged with the order (an error marks it);
    only inside a delivery's span: an untraced delivery does not start a trace of its own."""
    if not trace.get_current_span().get_span_context().is_valid:
        yield trace.INVALID_SPAN
        return
    with tracer().start_as_current_span(f"handle {envelope.type}", attributes={
            "order.id": str(envelope.data.get("order_id", "")), "handler.service": service,
            "messaging.message.id": envelope.message_id or ""}) as span:
        yield span
