"""Where is saga X and why: the read side of the saga store, live or archived (C9, C4)."""
from sqlalchemy import and_, select

from shared.domain.pages import page
from shared.models.base import iso
from orchestrator.tables import saga_log, saga_log_archive, sagas, sagas_archive
from orchestrator.steps import UNFINISHED

FILTERS = {
    "running": sagas.c.state.in_(UNFINISHED),
    "stuck": and_(sagas.c.state.in_(UNFINISHED), sagas.c.retries > 0),
    "compensating": sagas.c.state == "COMPENSATING",
    "completed": sagas.c.state == "COMPLETED",
    "cancelled": sagas.c.state == "CANCELLED",
}
SUMMARY = ("saga_id", "order_id", "shard", "state", "reason", "cursor", "retries", "last_error",
           "correlation_id")
TIMES = ("created_at", "updated_at", "finished_at", "next_attempt_at")


def summary(row, archived=False):
    """Return a saga as the API shows it (without the order's card token); a row read from
    the archive says so."""
    return {**{k: row[k] for k in SUMMARY}, **{k: iso(row[k]) for k in TIMES},
            "archived": archived or "archived_at" in row}


def listing(session, which, limit, after):
    """Return (sagas, next_after) of one filter (running, stuck, ...), or all when None."""
    rows, next_after = page(session, sagas, sagas.c.saga_id, limit, after, FILTERS.get(which))
    return [summary(r) for r in rows], next_after


def one(session, saga_id):
    """Return a saga with its log (timeline shape), from the live tables or the archive."""
    for table, log_table, archived in ((sagas, saga_log, False),
                                       (sagas_archive, saga_log_archive, True)):
        row = session.execute(select(table).where(table.c.saga_id == saga_id)).mappings().first()
        if row:
            lines = session.execute(select(log_table).where(log_table.c.saga_id == saga_id)
                                    .order_by(log_table.c.id)).mappings().all()
            return {**summary(row, archived), "log": [_line(r) for r in lines]}
    return None


def _line(row):
    return {"at": iso(row["at"]), "service": row["service"], "step": row["step"],
            "outcome": row["outcome"], "correlation_id": row["correlation_id"]}
