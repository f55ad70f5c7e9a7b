"""Idempotency keys for HTTP commands: a retried call gets the first answer, never a second effect.

The orchestrator sends `Idempotency-Key: <saga_id>:<step>:<action>` with every call. A service
runs the command and stores the key, a hash of the request and the answer in the SAME
transaction as the effect. A retry with that key (the first answer was lost on the way back)
gets the stored answer; the same key with a different request is a 422.
Twin: shared/messaging/consumer.py, whose processed_messages table does the same for events.
"""
import functools
import hashlib
import json

from flask import abort, jsonify, request

from shared.http.web import error, sessions
from shared.models.base import utcnow
from shared.models.plumbing import idempotency_keys
from shared.runtime import faults
from shared.runtime.db import first_row, insert_if_absent, read_only, transaction, update_where
from commands.internal import internal

MAX_KEY_LENGTH = 200
REPLAY_HEADER = "Idempotent-Replayed"


def rejected(code, message):
    """Return a business refusal (409) in the API's error shape, e.g. code `out_of_stock`."""
    return 409, {"error": {"code": code, "message": message}}


def require(body, **fields):
    """Abort with a 400 unless each named field of the body has the given type."""
    problems = [f"{name} must be {kind.__name__}" for name, kind in fields.items()
                if not isinstance(body.get(name), kind) or isinstance(body.get(name), bool)]
    if problems:
        abort(400, "; ".join(problems))


def command(service):
    """Make a route `work(session, body, **url_args) -> (status, answer)` an idempotent command."""
    def decorate(work):
        @functools.wraps(work)
        def view(**url_args):
            body, key = _json_body(), _key()
            fingerprint = _fingerprint(body)
            if key and faults.injected(service):
                # A replay is answered before the injected slowness, by one read: the retries
                # of a call that timed out against a slowed service can still succeed
                # (test_orchestrator_idempotency.py).
                # Trade-off 114: the read runs only while a fault is injected here: it exists
                # to step around that fault, and without one the claim in the transaction
                # finds a replay by itself (answer_once). A first call no longer pays a read
                # transaction: six per order, 0.6-2.0 CPU-ms of the four services' 10-13 on
                # SQLite. The cost: a replay takes a write transaction instead of a read.
                with read_only(sessions()) as session:
                    stored = _stored(session, key)
                if stored:
                    return _replay(stored, fingerprint)
            try:
                # Like the choreographed consumer: faults hit before the transaction, so a slow
                # service never sleeps while holding its database's write lock.
                faults.inject(service)
            except faults.InjectedFault as exc:
                return error(503, "injected_fault", str(exc))
            return _run_once(work, body, key, fingerprint, url_args)
        return view
    return decorate


def _run_once(work, body, key, fingerprint, url_args):
    with transaction(sessions()) as session:
        status, answer, replayed = answer_once(
            session, key, fingerprint, lambda: work(session, body, **url_args))
    return jsonify(answer), status, _replayed_header(status) if replayed else {}


def answer_once(session, key, fingerprint, work, dedup=True):
    """Run `work() -> (status, answer)` once per key, in the caller's transaction; return
    (status, answer, replayed). The HTTP route and the command consumer
    (amqp.py) both answer a command through here. dedup=False (only
    TEACH_DISABLE_DEDUP on the command consumer) runs the work again for a key seen before."""
    # The key is claimed before the work, in one INSERT ... ON CONFLICT DO NOTHING: a twin
    # request with the same key waits for this transaction, then finds the key taken and
    # replays the stored answer instead of doing the work a second time.
    if key and not _claim(session, key, fingerprint) and dedup:
        return (*_stored_answer(_stored(session, key), fingerprint), True)
    status, answer = work()
    # Trade-off 16: the key and the answer are stored in the transaction of the effect
    # (the twin of Trade-off 3), so a retry after a lost answer replays, never repeats.
    if key:
        update_where(session, idempotency_keys, {"key": key},
                     status_code=status, response=answer)
    return status, answer, False


def _claim(session, key, fingerprint):
    """Insert the key with a placeholder answer (no one sees it before our commit)."""
    return insert_if_absent(session, idempotency_keys, {
        "key": key, "request_hash": fingerprint, "status_code": 0, "response": {},
        "created_at": utcnow()}, "key")


def _stored(session, key):
    return first_row(session, idempotency_keys, key=key)


def _replay(stored, fingerprint):
    status, answer = _stored_answer(stored, fingerprint)
    return jsonify(answer), status, _replayed_header(status)


def _replayed_header(status):
    """The header of a stored answer sent again; none on the 422 of a key reused."""
    return {REPLAY_HEADER: "true"} if status != 422 else {}


def _stored_answer(stored, fingerprint):
    """Return (status, answer) of a key used before: its answer, or 422 for another request."""
    if stored["request_hash"] != fingerprint:
        return 422, {"error": {"code": "idempotency_key_reused",
                               "message": "this Idempotency-Key was used with a different "
                                          "request"}}
    return stored["status_code"], stored["response"]


def _json_body():
    if not request.get_data(cache=True):
        return {}
    if not request.is_json:
        abort(415, "the body must be JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object")
    return body


def _key():
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        abort(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    return key


def _fingerprint(body):
    return fingerprint(request.method, request.path, body)


def fingerprint(method, path, body):
    """Return the hash of a command that a key is stored with: the same over HTTP and AMQP."""
    text = json.dumps([method, path, body], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def command_routes(service, commands):
    """Return a blueprint with one idempotent POST route per (path, handler) of `commands`.
    Each is internal (internal.py): without the service credential it is a 403, checked
    before the Idempotency-Key is read or claimed."""
    from flask import Blueprint
    blueprint = Blueprint(f"{service}_commands", __name__)
    for path, handler in commands:
        blueprint.add_url_rule(path, handler.__name__, internal(command(service)(handler)),
                               methods=["POST"])
    return blueprint
