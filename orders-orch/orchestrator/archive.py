"""Archive finished sagas: after the retention they move, with their whole step log, to the
archive tables, in the same transaction as the delete. Nothing is deleted unless archived (C13).

Runs periodically in every replica (ORCH_ARCHIVE_EVERY_S) and on demand:
    python -m orchestrator.archive          (what `make archive` runs)
"""
import logging
import sys
from datetime import timedelta

from sqlalchemy import delete, insert, select, update

from shared.models.base import utcnow
from shared.runtime import config
from shared.runtime.db import open_service_database, transaction
from shared.runtime.logs import setup
from orchestrator.shards import LeaseLost
from orchestrator.steps import FINAL
from orchestrator.tables import (metadata, saga_log, saga_log_archive, sagas, sagas_archive,
                                 shard_leases)

BATCH = 200
log = logging.getLogger(__name__)


def archive_once(session_factory, retention_s, now=None, token=None):
    """Move up to BATCH finished sagas older than the retention; return how many moved.

    With a token, only the sagas of its shard, and only while its lease holds (a replica's
    loop); without one, of every shard (`make archive`, run by an operator)."""
    cutoff = (now or utcnow()) - timedelta(seconds=retention_s)
    where = [sagas.c.state.in_(FINAL), sagas.c.finished_at <= cutoff]
    with transaction(session_factory) as session:
        if token is not None:
            _hold(session, token)
            where.append(sagas.c.shard == token.shard)
        ids = list(session.execute(select(sagas.c.saga_id).where(*where).limit(BATCH)).scalars())
        if ids:
            # Trade-off 15: copy and delete in ONE transaction (C13): a saga is never gone
            # unless archived, at the price of a batch-sized write on the live tables.
            _move(session, sagas, sagas_archive, sagas.c.saga_id.in_(ids))
            _move(session, saga_log, saga_log_archive, saga_log.c.saga_id.in_(ids))
    return len(ids)


def _hold(session, token):
    """Lock the lease row for this transaction if the token holds; else raise LeaseLost."""
    # Trade-off 26: archival fences by writing the lease row itself (its epoch, unchanged):
    # a takeover, which writes that row too, waits until the batch is moved. Cheap once a
    # minute per shard; every saga step instead fences inside its own UPDATE (shards.holds).
    held = session.execute(update(shard_leases).where(
        shard_leases.c.shard == token.shard, shard_leases.c.owner == token.owner,
        shard_leases.c.epoch == token.epoch).values(epoch=token.epoch)).rowcount
    if held != 1:
        raise LeaseLost(f"shard {token.shard}: lease lost (epoch {token.epoch}); "
                        "nothing archived")


def _move(session, table, archive_table, where):
    rows = [dict(r) for r in session.execute(select(table).where(where)).mappings()]
    if rows:
        archived_at = utcnow()
        session.execute(insert(archive_table), [{**r, "archived_at": archived_at} for r in rows])
        key = table.primary_key.columns[0]  # delete exactly the rows just copied, no others
        session.execute(delete(table).where(key.in_([r[key.name] for r in rows])))


def archive_all(session_factory, retention_s, tokens=None):
    """Archive every finished saga older than the retention (of the tokens' shards only, when
    given; a shard whose lease was lost is skipped); return how many moved."""
    total = 0
    for token in tokens if tokens is not None else [None]:
        try:
            while moved := archive_once(session_factory, retention_s, token=token):
                total += moved
        except LeaseLost as exc:
            log.info("archival: %s", exc)
        except Exception:
            if token is None:
                raise  # `make archive`: the operator sees the error and the exit status
            # A replica's loop: one shard that cannot be archived (its batch is rolled back,
            # nothing lost) must not keep the next shards' finished sagas live for ever.
            log.exception("archival of shard %s failed; the other shards go on", token.shard)
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
