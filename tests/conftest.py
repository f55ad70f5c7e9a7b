"""One service credential for the whole test session (docs/domain.md, "Public and internal
commands"), set before any fixture starts a program: every variant, stack and gunicorn the
tests start inherits it from this process's environment, and the test process's own calls to
internal commands (through shared/http_session.py) carry the same one."""
import os
import secrets

os.environ.setdefault("SERVICE_TOKEN", f"test-{secrets.token_urlsafe(16)}")
