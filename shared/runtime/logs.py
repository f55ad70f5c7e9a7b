"""Structured log lines that carry the correlation id of the work being done.

The correlation id lives in a context variable: a consumer or request handler sets it once,
and every log line written while handling that message or request shows it.
"""
import contextvars
import logging
import sys

from shared.runtime import config

_correlation_id = contextvars.ContextVar("correlation_id", default="-")


def set_correlation_id(value):
    """Make `value` the correlation id of every log line written from here on in this context."""
    _correlation_id.set(value or "-")


def correlation_id():
    """Return the correlation id of the current context ("-" when there is none)."""
    return _correlation_id.get()


class _CorrelationFilter(logging.Filter):
    def filter(self, record):
        record.correlation_id = _correlation_id.get()
        return True


def setup(service):
    """Send this process's logs to stderr as `time level service corr=... message` lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_CorrelationFilter())
    handler.setFormatter(logging.Formatter(
        f"%(asctime)s %(levelname)s {service} corr=%(correlation_id)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level())
    logging.getLogger("pika").setLevel(logging.CRITICAL)  # our reconnect loop logs outages
