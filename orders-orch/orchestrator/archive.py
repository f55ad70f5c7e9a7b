"""Archive finished sagas: after the retention they move, with their whole step log, to the
archive tables, in the same transaction as the delete. Nothing is deleted unless archived (C13).

Runs periodically in every replica (ORCH_ARCHIVE_EVERY_S) and on demand:
    python -m orchestrator.archive          (what `make archive` runs)
"""
import sys
from datetime import timedelta

from sqlalchemy import delete, insert, select

from shared import config
from shared.db import open_service_database, transaction
from shared.logs import setup
from shared.models.base import utcnow
from shared.models.orchestrator import (metadata, saga_log, saga_log_archive, sagas,
                                        sagas_archive)
from orchestrator.steps import FINAL

BATCH = 200


def archive_once(session_factory, retention_s, now=None):
    """Move up to BATCH finished sagas older than the retention; return how many moved."""
    cutoff = (now or utcnow()) - timedelta(seconds=retention_s)
    with transaction(session_factory) as session:
        ids = list(session.execute(select(sagas.c.saga_id).where(
            sagas.c.state.in_(FINAL), sagas.c.finished_at <= cutoff).limit(BATCH)).scalars())
        if ids:
            # Trade-off 15: copy and delete in ONE transaction (C13): a saga is never gone
            # unless archived, at the price of a batch-sized write on the live tables.
            _move(session, sagas, sagas_archive, sagas.c.saga_id.in_(ids))
            _move(session, saga_log, saga_log_archive, saga_log.c.saga_id.in_(ids))
    return len(ids)


def _move(session, table, archive_table, where):
    rows = [dict(r) for r in session.execute(select(table).where(where)).mappings()]
    if rows:
        archived_at = utcnow()
        session.execute(insert(archive_table), [{**r, "archived_at": archived_at} for r in rows])
        key = table.primary_key.columns[0]  # delete exactly the rows just copied, no others
        session.execute(delete(table).where(key.in_([r[key.name] for r in rows])))


def archive_all(session_factory, retention_s):
    """Archive every finished saga older than the retention; return how many moved."""
    total = 0
    while moved := archive_once(session_factory, retention_s):
        total += moved
    return total


def main():
    """Archive now with the configured retention and print what moved."""
    setup("orchestrator-archive")
    session_factory = open_service_database("orchestrator", metadata)
    moved = archive_all(session_factory, config.orch_retention_s())
    print(f"archive: moved {moved} finished saga(s) older than {config.orch_retention_s()} s "
          f"({config.database_url('orchestrator')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
