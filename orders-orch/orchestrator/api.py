"""The orchestrator's HTTP API: start a saga, and answer "where is saga X and why".

POST /sagas {"order": {...}} (from the orders service):
- the replica that owns the saga's shard stores it and drives it for up to ORCH_SYNC_BUDGET_MS,
  then answers 201 (final) or 202 (still running: it goes on in the background);
- another replica forwards the request to the owner, or, when the owner cannot be reached,
  stores the saga for the owner's recovery loop and answers 202;
- `Prefer: respond-async` (the orders service's handover loop) only stores it: 202;
- 429 with Retry-After when this replica already drives ORCH_MAX_IN_FLIGHT sagas;
- 403 without the service credential (commands/internal.py): starting a saga is internal.
GET /sagas?state=running|stuck|compensating|completed|cancelled, GET /sagas/<id> (with its
log), GET /shards (who leases what).
"""
import time

import requests
from flask import Blueprint, abort, current_app, g, jsonify, request
from sqlalchemy import select

from shared.http.api_models import page_of
from shared.http.openapi import documented
from shared.http.web import PAGE_QUERY, create_base_app, error, page_args, paginated, sessions
from shared.models.base import iso
from shared.runtime import config
from shared.runtime.db import open_service_database, read_only
from shared.runtime.logs import setup
from commands import http_session
from commands.internal import internal
from commands.models import Saga, SagaWithLog, Shards, StartSaga
from orchestrator.tables import metadata, shard_leases
from orchestrator import reads, store, traces
from orchestrator.messaging_replica import MessagingReplica
from orchestrator.replica import Replica
from orchestrator.shards import LeaseLost, shard_of
from orchestrator.steps import FINAL

FORWARDED = "X-Orch-Forwarded-By"
routes = Blueprint("sagas", __name__)


@routes.post("/sagas")
@internal  # the credential first: before the body is validated or any saga is stored
@documented("Start the saga of an order and drive it within the time budget",
            {201: Saga, 202: Saga, 429: "this replica drives its maximum of sagas"},
            body=StartSaga)  # validates the body with StartSaga before start_saga runs
def start_saga():
    """Store a saga for the order and drive it within the budget (see the module docstring)."""
    deadline = time.monotonic() + config.orch_sync_budget_ms() / 1000
    order, replica = traces.with_trace(_order()), current_app.extensions["replica"]
    shard = shard_of(order["order_id"], replica.leases.shards)
    create = lambda token=None: store.create(  # noqa: E731
        sessions(), order, g.correlation_id, shard, token)
    if request.headers.get("Prefer") == "respond-async":
        return _answer(create())
    if not replica.leases.owns(shard):
        return _forward(replica, shard) or _answer(create())
    try:
        future = replica.drive(order["order_id"],
                               before=lambda: create(replica.leases.token(shard)))
    except LeaseLost:  # the shard moved since the last tick: store it for its new owner
        return _answer(create())
    if future is None:  # full: shed it, unless it is a saga this system already has
        return _known(order["order_id"]) or error(
            429, "overloaded", f"{replica.max_in_flight} sagas in flight; retry later",
            headers={"Retry-After": str(config.orch_retry_after_s())})
    # Trade-off 10: the request (and one orders thread) waits while the saga runs: the client
    # gets the final status in one call, at the expense of concurrency and throughput (C8).
    # Under ORCH_TRANSPORT=amqp the budget means the same to the client, but this thread only
    # waits: the saga's steps run in the reply consumers (orchestrator/messaging_replica.py),
    # which complete the future once the saga is final; out of budget, 202 and it goes on.
    try:
        return _answer(future.result(timeout=max(0.0, deadline - time.monotonic())))
    except Exception:  # out of budget, or the lease moved: the saga goes on without us
        return _answer(store.load(sessions(), order["order_id"]))


@routes.get("/sagas")
@documented("List sagas, optionally by state", {200: page_of(Saga)},
            query={**PAGE_QUERY, "state": {"type": "string", "enum": list(reads.FILTERS)}})
def listing():
    """List sagas, filtered by ?state=running|stuck|compensating|completed|cancelled."""
    which = request.args.get("state")
    if which and which not in reads.FILTERS:
        abort(400, f"state must be one of {', '.join(reads.FILTERS)}")
    limit, after = page_args()
    with read_only(sessions()) as session:
        items, next_after = reads.listing(session, which, limit, after)
    return paginated("sagas.listing", items, next_after, limit)


@routes.get("/sagas/<saga_id>")
@documented("One saga with its step log, live or archived", {200: SagaWithLog})
def one(saga_id):
    """Return one saga with its step log (also once archived)."""
    with read_only(sessions()) as session:
        saga = reads.one(session, saga_id)
    if saga is None:
        abort(404, f"no saga {saga_id}")
    return jsonify(saga)


@routes.get("/shards")
@documented("Every shard's lease: owner, owner URL, expiry, epoch", {200: Shards})
def shards():
    """Return every shard's lease: owner, owner URL, expiry, epoch."""
    with read_only(sessions()) as session:
        rows = session.execute(select(shard_leases).order_by(shard_leases.c.shard)).mappings()
        items = [{**dict(r), "expires_at": iso(r["expires_at"])} for r in rows]
    return jsonify({"replica": current_app.extensions["replica"].owner, "items": items})


def _order():
    return request.get_json()["order"]  # StartSaga has checked it (see @documented above)


def _forward(replica, shard):
    """Hand the request to the shard's owner; return its answer, or None if it cannot."""
    owner_url = replica.leases.owner_url(shard)
    if request.headers.get(FORWARDED) or owner_url in (None, replica.url):
        return None
    try:  # this thread's session carries the service credential, as every internal call
        answer = http_session.this_thread().post(
            f"{owner_url}/sagas", json=request.get_json(),
            timeout=(config.orch_sync_budget_ms() + 1000) / 1000,
            headers={FORWARDED: replica.owner, "X-Correlation-Id": g.correlation_id})
    except requests.RequestException:
        return None
    headers = {k: v for k, v in answer.headers.items() if k in ("Retry-After", "Content-Type")}
    return answer.content, answer.status_code, headers


def _known(saga_id):
    """Answer with a saga already stored (a retried or forwarded POST /sagas), else None."""
    # A 429 means "not accepted": the orders service may then withdraw the order. A saga
    # that is stored was accepted (it may be driven elsewhere, or be final already), so it
    # gets its status, 201 or 202 (the recovery loop drives it), and only a new one is shed.
    saga = store.load(sessions(), saga_id)
    return _answer(saga) if saga else None


def _answer(saga):
    status = 201 if saga["state"] in FINAL else 202
    return jsonify(reads.summary(saga)), status


def create_app():
    """Return one orchestrator replica's API and start its lease, recovery and archival loops."""
    number = config.orchestrator_replica()
    setup(f"orchestrator-{number}")
    # A connection for every thread that may hold one at once: each saga in flight, and the
    # three loops; request threads hold one only for a moment (the overflow covers a burst).
    session_factory = open_service_database("orchestrator", metadata,
                                            pool_size=config.orch_max_in_flight() + 3)
    kind = MessagingReplica if config.orch_transport() == "amqp" else Replica
    replica = kind(session_factory, number, config.orchestrator_url(number))
    app = create_base_app("orchestrator", session_factory,
                          workers=(replica.leases.beat_name.split("@")[0], *replica.health_roles()),
                          about={"transport": config.orch_transport()})  # for the watch page
    app.extensions["replica"] = replica
    app.register_blueprint(routes)
    replica.start_loops()
    return app
