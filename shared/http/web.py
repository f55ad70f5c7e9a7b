"""Flask plumbing every service's HTTP API shares: JSON errors, correlation ids, health, paging.

Not the lesson: this keeps each service's `api.py` down to its routes.
"""
import logging
import uuid
from datetime import timedelta

from flask import Flask, g, jsonify, request, url_for
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import func, select, text
from werkzeug.exceptions import BadRequest, HTTPException

from shared import tracing
from shared.http import openapi
from shared.http.api_models import Health, OutboxState
from shared.http.validation import MAX_BODY_BYTES
from shared.models.base import utcnow
from shared.models.plumbing import heartbeats, outbox
from shared.runtime import logs, strict_json
from shared.runtime.db import read_only

log = logging.getLogger(__name__)
HEARTBEAT_FRESH = timedelta(seconds=10)


def error(status, code, message, fields=None, headers=None):
    """Return a JSON error response in the API's one error shape."""
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status, headers or {}


def create_base_app(service, session_factory, workers=(), about=None):
    """Return a Flask app with JSON errors, correlation ids and GET /health for `service`
    (`about`: fixed facts its /health also says, e.g. the orchestrator's transport)."""
    app = Flask(service)
    app.json = StrictJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["session_factory"] = session_factory
    app.before_request(_take_correlation_id)
    app.before_request(_refuse_nul_in_url)
    app.before_request(_refuse_a_cut_body)
    app.after_request(_give_correlation_id)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.register_error_handler(openapi.BodyError, lambda exc: error(
        400, "invalid_request", str(exc), exc.fields))
    app.add_url_rule("/health", "health", openapi.describe(
        lambda: _health(session_factory, workers, about or {}),
        "Ready: database reachable, workers beating", {200: Health, 503: Health}))
    app.add_url_rule("/outbox", "outbox", openapi.describe(
        lambda: _outbox(session_factory), "Outbox rows not sent yet (read-only, for the audit)",
        {200: OutboxState}))
    app.add_url_rule("/openapi.json", "openapi", lambda: jsonify(openapi.document(app, service)))
    return tracing.instrument_app(app, service)  # tracing: server spans, and client spans out


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies with shared/runtime/strict_json.py: a body it refuses is
    "malformed" to `request.get_json(silent=True)`, so every API answers it with a 400."""

    def loads(self, s, **kwargs):
        return strict_json.loads(s)


def sessions():
    """Return the session factory of the current app."""
    from flask import current_app
    return current_app.extensions["session_factory"]


def _refuse_nul_in_url():
    # A NUL in a path or query (%00) would reach PostgreSQL, whose text cannot hold it.
    if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
        raise BadRequest("the URL holds a NUL character (%00)")


def _refuse_a_cut_body():
    # A client killed between sending its headers and its body leaves a request whose body
    # ends before its Content-Length; gunicorn hands it over as it is, cut short. Applied, a
    # command with an empty body would do its work under the client's Idempotency-Key with
    # the wrong fingerprint, and the client's honest retry would then get a 422 for ever.
    expected = request.content_length
    if expected and len(request.get_data(cache=True)) < expected:
        raise BadRequest(f"the body ended before its Content-Length ({expected} bytes)")


def _take_correlation_id():
    given = request.headers.get("X-Correlation-Id", "")
    # Kept only when it fits the 64 characters every table stores it in; else a new one.
    g.correlation_id = given if 0 < len(given) <= 64 else str(uuid.uuid4())
    logs.set_correlation_id(g.correlation_id)


def _give_correlation_id(response):
    response.headers["X-Correlation-Id"] = g.get("correlation_id", "-")
    return response


def _http_error(exc):
    code = (exc.name or "error").lower().replace(" ", "_")
    return error(exc.code, code, exc.description or exc.name)


def _unexpected_error(exc):
    log.exception("unexpected error")
    return error(500, "internal_error", "unexpected error; see the service log")


def _health(session_factory, workers, about):
    problems = []
    try:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
            beats = dict(session.execute(select(heartbeats.c.worker, heartbeats.c.beat_at)).all())
    except Exception as exc:  # health must answer, whatever is broken
        return jsonify({"status": "unavailable", "problems": [f"database: {exc}"]}), 503
    for role in workers:  # a role is alive when any of its processes beat recently
        fresh = [at for name, at in beats.items()
                 if name.split("@")[0] == role and utcnow() - at <= HEARTBEAT_FRESH]
        if not fresh:
            problems.append(f"{role} is not running (no recent heartbeat)")
    if problems:
        return jsonify({"status": "unavailable", "problems": problems, **about}), 503
    return jsonify({"status": "ok", **about}), 200


def _outbox(session_factory):
    """Count the rows no relay or handover has sent: work the audit must wait for."""
    with read_only(session_factory) as connection:
        unsent = connection.scalar(select(func.count()).select_from(outbox)
                                .where(outbox.c.sent_at.is_(None)))
    return jsonify({"unsent": unsent}), 200


PAGE_QUERY = {"limit": {"type": "integer", "minimum": 1, "maximum": 1000},
              "after": {"type": "string", "description": "the last key of the previous page"}}


def page_args():
    """Return (limit, after) from the query string, or raise a 400 for a bad limit."""
    limit = request.args.get("limit", "100")
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 1000:  # not "³"
        raise BadRequest("limit must be an integer from 1 to 1000")
    return int(limit), request.args.get("after") or None


def paginated(endpoint, items, next_after, limit):
    """Return a page of items with the URL of the next page (null on the last page)."""
    query = {**request.args.to_dict(), "after": next_after, "limit": limit}  # keep the filters
    nxt = url_for(endpoint, **query) if next_after else None
    return jsonify({"items": items, "next": nxt})
