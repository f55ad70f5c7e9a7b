"""The saga's persisted state and step log, written before and after every step.

Every write of a running saga is one fenced compare-and-set UPDATE of its row: it changes
the row only if the replica's fencing token still holds (shards.HOLDS) and the saga is where
the replica left it (state and cursor). The log lines ride in the same transaction, so a
write that changes nothing logs nothing. Nothing about a saga lives only in memory beyond
one call. A saga once archived (orchestrator/archive.py) is read from the archive and never
created again: the same order's POST /sagas, arriving late, gets the finished saga.
"""
import functools

from sqlalchemy import bindparam, select, update

from shared.models.base import utcnow
from shared.runtime.db import first_row, insert_if_absent, read_only, transaction
from orchestrator.tables import saga_log, sagas, sagas_archive
from orchestrator.shards import HOLDS, LeaseLost
from orchestrator.steps import RUNNING, UNFINISHED


def create(session_factory, order, correlation_id, shard, token=None):
    """Store a new RUNNING saga for an order, once per order; return the saga.

    With a token (the shard's owner, about to drive it) nothing is stored unless the lease
    still holds; without one (a replica that only hands the saga to the owner's recovery)
    the saga is stored for whoever owns the shard: an insert of a new row overwrites nothing.
    """
    now = utcnow()
    row = {"saga_id": order["order_id"], "order_id": order["order_id"], "shard": shard,
           "state": RUNNING, "cursor": 0, "failed_step": None, "reason": None,
           "data": order, "correlation_id": correlation_id, "retries": 0,
           "next_attempt_at": now, "last_error": None, "created_at": now,
           "updated_at": now, "finished_at": None}
    try:
        with transaction(session_factory) as session:
            if token is not None and not _still_held(session, token):
                raise LeaseLost(f"shard {shard}: lease lost before creating saga "
                                f"{row['saga_id']}; nothing written")
            if insert_if_absent(session, sagas, row, "saga_id"):
                _not_archived(session, row["saga_id"])
                log(session, row, ("orchestrator", "saga", "started"))
                return row
            return _row(session, row["saga_id"]) or _archived(session, row["saga_id"])
    except AlreadyArchived as done:  # the insert is rolled back: the saga ran once, and ended
        return done.saga


class AlreadyArchived(Exception):
    """The order's saga finished long ago and sits in the archive: it must not run again."""

    def __init__(self, saga):
        super().__init__(f"saga {saga['saga_id']} is archived ({saga['state']})")
        self.saga = saga


def _not_archived(session, saga_id):
    """Raise AlreadyArchived when the saga just inserted as new is in the archive."""
    # Checked after the insert, not before: an archival moving this saga at the same moment
    # holds its live row until it commits, so our insert waits for it, and this read then
    # sees the archived row (PostgreSQL reads what committed before each statement; SQLite
    # runs one writer at a time). Checked before, the insert could land just after the move.
    archived = _archived(session, saga_id)
    if archived is not None:
        raise AlreadyArchived(archived)


def load(session_factory, saga_id):
    """Return a saga's row as a dict (live, else archived: final for ever), or None."""
    with read_only(session_factory) as session:
        return _row(session, saga_id) or _archived(session, saga_id)


def record(session_factory, saga, token, service, step, outcome):
    """Append one line to the saga's log (fenced): e.g. a step about to be called."""
    with transaction(session_factory) as session:
        _fenced_update(session, saga, token, {"updated_at": utcnow()})
        log(session, saga, (service, step, outcome))


def advance(session_factory, saga, token, changes, lines):
    """Apply a step's changes and log lines (fenced and compare-and-set); return the saga."""
    # Trade-off 13: every answer is committed before the next call is made (C11), so any
    # replica can resume any saga and none keeps state in memory; it costs a database write
    # per step on the orchestrator's one database (the next step's "started" line rides on it).
    with transaction(session_factory) as session:
        return advance_in(session, saga, token, changes, lines)


def advance_in(session, saga, token, changes, lines):
    """advance() in the caller's transaction (the messaging driver adds the next command)."""
    changes = {**changes, "updated_at": utcnow()}
    _fenced_update(session, saga, token, changes)
    log(session, saga, *lines)
    return {**saga, **changes}


def current(session, saga_id):
    """Return a live saga's row as the caller's transaction sees it, or None."""
    return _row(session, saga_id)


def locked(session, saga_id):
    """current(), and the row stays locked until the caller's transaction ends: another
    transaction that sends this saga's command waits here, then reads what this one wrote.
    (PostgreSQL: SELECT ... FOR UPDATE. SQLite's writers take turns anyway: BEGIN IMMEDIATE.)"""
    row = session.execute(_LOCKED, {"the_saga": saga_id}).mappings().first()
    return dict(row) if row else None


_LOCKED = select(sagas).where(sagas.c.saga_id == bindparam("the_saga")).with_for_update()


def _fenced_update(session, saga, token, changes):
    """UPDATE the saga row if the token holds and the saga is unmoved; else raise LeaseLost."""
    parameters = {"the_saga": saga["saga_id"], "was_state": saga["state"],
                  "was_cursor": saga["cursor"], **token.parameters(),
                  **{f"new_{name}": value for name, value in changes.items()}}
    moved = session.execute(_fenced(tuple(changes)), parameters).rowcount
    if moved != 1:
        raise LeaseLost(f"saga {saga['saga_id']}: lease of shard {token.shard} lost (epoch "
                        f"{token.epoch}) or saga moved by someone else; nothing written")


@functools.lru_cache(maxsize=None)
def _fenced(changed_columns):
    """The fenced compare-and-set of a saga row, built once per set of changed columns."""
    return (update(sagas).where(sagas.c.saga_id == bindparam("the_saga"),
                                sagas.c.state == bindparam("was_state"),
                                sagas.c.cursor == bindparam("was_cursor"), HOLDS)
            .values({name: bindparam(f"new_{name}") for name in changed_columns}))


def _still_held(session, token):
    return session.execute(select(HOLDS), token.parameters()).scalar()


def due(session_factory, shards, limit, driving=()):
    """Return ids of unfinished sagas of these shards whose next attempt is due.

    A saga stopped mid-step (its replica died, or gave its shard back) kept the
    next_attempt_at it had, which is past: it is due at once. The sagas this replica is
    `driving` already are left out, so that under load they do not fill the limit."""
    with read_only(session_factory) as session:
        return list(session.execute(
            # exercise: crash-recovery begin
            select(sagas.c.saga_id).where(sagas.c.state.in_(UNFINISHED),
                                          sagas.c.shard.in_(sorted(shards)),
                                          sagas.c.saga_id.not_in(list(driving)),
                                          sagas.c.next_attempt_at <= utcnow())
            # exercise: crash-recovery end
            .order_by(sagas.c.next_attempt_at).limit(limit)).scalars())


def log(session, saga, *lines):
    """Write the saga's log lines `(service, step, outcome)` in the session's transaction."""
    if lines:  # one INSERT of every line: a saga step writes two (its answer, the next start)
        at = utcnow()
        session.execute(saga_log.insert(), [
            {"saga_id": saga["saga_id"], "at": at, "service": service, "step": step,
             "outcome": outcome[:200], "correlation_id": saga["correlation_id"]}
            for service, step, outcome in lines])


def _row(session, saga_id):
    row = first_row(session, sagas, saga_id=saga_id)
    return dict(row) if row else None


def _archived(session, saga_id):
    row = first_row(session, sagas_archive, saga_id=saga_id)
    return dict(row) if row else None
