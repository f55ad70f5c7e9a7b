"""One service credential for the whole test session (docs/domain.md, "Public and internal
commands"), set before any fixture starts a program: every variant, stack and gunicorn the
tests start inherits it from this process's environment, and the test process's own calls to
internal commands (through shared/http_session.py) carry the same one."""
import os
import secrets

os.environ.setdefault("SERVICE_TOKEN", f"test-{secrets.token_urlsafe(16)}")

# The test brokers sample their queue counts every second instead of every 5 s (RabbitMQ's
# default), and the audit, reading the same setting, waits one second for a fresh sample of
# the unacked counts instead of five: about a minute of the suite. Compose's broker keeps the
# default, and tests/compose/conftest.py says so to the audit.
os.environ.setdefault("BROKER_STATS_INTERVAL_MS", "1000")
