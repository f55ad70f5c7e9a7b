"""One service credential for the whole test session (docs/domain.md, "Public and internal
commands"), set before any fixture starts a program: every variant, stack and gunicorn the
tests start inherits it from this process's environment, and the test process's own calls to
internal commands (through orders-orch/commands/http_session.py) carry the same one.

And `stop_later`: the session's variants and brokers stop in the background, all at once."""
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

os.environ.setdefault("SERVICE_TOKEN", f"test-{secrets.token_urlsafe(16)}")

# The test brokers sample their queue counts every second instead of every 5 s (RabbitMQ's
# default), and the audit, reading the same setting, waits one second for a fresh sample of
# the unacked counts instead of five: about a minute of the suite. Compose's broker keeps the
# default, and tests/compose/conftest.py says so to the audit.
os.environ.setdefault("BROKER_STATS_INTERVAL_MS", "1000")


@pytest.fixture(scope="session")
def stop_later():
    """Return stop_later(stop): run `stop` (a variant's, a broker's) in the background and go
    on; every stop is waited for, and its failure raised, at the end of the session.

    Stopping is mostly waiting (gunicorn's graceful timeout, `rabbitmqctl stop`): one after
    the other, the session's variants and brokers spent half a minute and more at its end.
    Only for what nothing later starts again on the same ports and folders: a fixture that the
    next test starts afresh must stop it before it yields control."""
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="stop-later")
    pending = []
    yield lambda stop: pending.append(pool.submit(stop))
    pool.shutdown(wait=True)
    for stopped in pending:
        stopped.result()
