"""Internal commands need the service credential: a coordinator's commands are not a public API.

The orchestrator's calls (`POST /payments`, `POST /orders/<id>/outcome`, ...) and the orders
service's `POST /sagas` change money, stock and orders on the word of the caller. Served to
anyone who can reach the port, a client could mark an order COMPLETED without a charge, or take
the orchestrator's Idempotency-Key with another body so that its own call is refused for ever.
So every internal command checks `Authorization: Bearer <SERVICE_TOKEN>` FIRST: before the
body or the Idempotency-Key is read, before any fault, lock or write. Without the right token
the answer is a 403 and nothing changes. The public surface (POST /orders, every GET) needs
nothing. Callers send the token through http_session.py.
"""
import functools
import hmac

from flask import request

from shared.http.web import error
from shared.runtime import config

SCHEME = "Bearer "


def credential_ok(header):
    """Return True when the Authorization header carries this service's token; never when the
    service has no token configured (fail closed)."""
    expected = config.service_token()
    if not expected or not header.startswith(SCHEME):
        return False
    # Trade-off 56: one shared bearer token is the simplest credential that separates the
    # internal surface from the public one. It costs a secret to distribute (the runner and
    # compose generate one per run) and to rotate (every service restarts with the new one);
    # larger systems use mTLS or short-lived signed tokens per caller instead.
    return hmac.compare_digest(header[len(SCHEME):].encode(), expected.encode())


def refusal():
    """Return the 403 an internal command answers without the service credential."""
    return error(403, "forbidden", "an internal command needs the service credential "
                 "(Authorization: Bearer <SERVICE_TOKEN>)")


def internal(view):
    """Make a route internal: refuse it with a 403, before it runs, without the credential."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        if not credential_ok(request.headers.get("Authorization", "")):
            return refusal()
        return view(*args, **kwargs)
    checked.internal = True  # shared/http/openapi.py documents it as internal
    return checked
