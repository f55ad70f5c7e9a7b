"""The saga's persisted state and step log, written before and after every step.

Every write of a running saga is fenced: in the same transaction, the replica checks that it
still holds the lease of the saga's shard (shards.fence) and that the saga is where it left
it. Nothing about a saga lives only in memory beyond one call.
"""
from sqlalchemy import insert, select, update

from shared.db import transaction
from shared.models.base import utcnow
from shared.models.orchestrator import saga_log, sagas
from orchestrator.shards import LeaseLost, fence
from orchestrator.steps import RUNNING, UNFINISHED


def create(session_factory, order, correlation_id, shard):
    """Store a new RUNNING saga for an order, once per order; return the saga."""
    with transaction(session_factory) as session:
        existing = _row(session, order["order_id"])
        if existing:
            return existing
        now = utcnow()
        row = {"saga_id": order["order_id"], "order_id": order["order_id"], "shard": shard,
               "state": RUNNING, "cursor": 0, "failed_step": None, "reason": None,
               "data": order, "correlation_id": correlation_id, "retries": 0,
               "next_attempt_at": now, "last_error": None, "created_at": now,
               "updated_at": now, "finished_at": None}
        session.execute(insert(sagas).values(**row))
        log(session, row, "orchestrator", "saga", "started")
        return row


def load(session_factory, saga_id):
    """Return a saga's row as a dict, or None."""
    with session_factory() as session:
        return _row(session, saga_id)


def record(session_factory, saga, owner, service, step, outcome):
    """Append one line to the saga's log (fenced): e.g. a step about to be called."""
    with transaction(session_factory) as session:
        fence(session, saga["shard"], owner)
        log(session, saga, service, step, outcome)


def advance(session_factory, saga, owner, changes, lines):
    """Apply a step's changes and log lines (fenced and compare-and-set); return the saga."""
    # Trade-off 13: every answer is committed before the next call is made (C11), so any
    # replica can resume any saga and none keeps state in memory; it costs two database
    # writes per step on the orchestrator's one database.
    with transaction(session_factory) as session:
        fence(session, saga["shard"], owner)
        moved = session.execute(
            update(sagas).where(sagas.c.saga_id == saga["saga_id"],
                                sagas.c.state == saga["state"],
                                sagas.c.cursor == saga["cursor"])
            .values(**changes, updated_at=utcnow())).rowcount
        if moved != 1:
            raise LeaseLost(f"saga {saga['saga_id']} was moved by someone else")
        for service, step, outcome in lines:
            log(session, saga, service, step, outcome)
    return {**saga, **changes}


def due(session_factory, shards, limit):
    """Return ids of unfinished sagas of these shards whose next attempt is due."""
    with session_factory() as session:
        return list(session.execute(
            select(sagas.c.saga_id).where(sagas.c.state.in_(UNFINISHED),
                                          sagas.c.shard.in_(sorted(shards)),
                                          sagas.c.next_attempt_at <= utcnow())
            .order_by(sagas.c.next_attempt_at).limit(limit)).scalars())


def log(session, saga, service, step, outcome):
    """Write one saga log line in the session's transaction."""
    session.execute(insert(saga_log).values(
        saga_id=saga["saga_id"], at=utcnow(), service=service, step=step,
        outcome=outcome[:200], correlation_id=saga["correlation_id"]))


def _row(session, saga_id):
    row = session.execute(select(sagas).where(sagas.c.saga_id == saga_id)).mappings().first()
    return dict(row) if row else None
