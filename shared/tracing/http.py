"""Tracing of HTTP, by the maintained instrumentations: a server span per Flask request (its
parent read from the incoming `traceparent`), a client span per `requests` call (the header
written for the callee). Nothing here is ours but the choice of what not to trace.
"""
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor

from shared.tracing.provider import setup

NOT_TRACED = "health"  # polled every second by the runner and compose: noise, not work


def instrument_app(app, service):
    """Start tracing for this process and trace the app's requests and its outgoing calls."""
    # Trade-off 44: every request and every outgoing call pays for a span (ids, attributes,
    # a queue hand-off), paid even when nobody reads the trace; `make trace-cost` measures it.
    if not setup(service, f"{service}-api"):
        return app
    FlaskInstrumentor().instrument_app(app, excluded_urls=NOT_TRACED)
    if not RequestsInstrumentor().is_instrumented_by_opentelemetry:
        RequestsInstrumentor().instrument(excluded_urls=NOT_TRACED)
    return app
