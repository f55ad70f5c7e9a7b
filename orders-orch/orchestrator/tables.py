"""The orchestrator's database (orchestrated variant only): saga state, step log, shard leases, archive.

Everything the orchestrator knows about a saga is here, written before and after every step,
so a replica can die at any moment and another (or its restart) resumes from the last row.
"""
from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table

from shared.models.base import UTCDateTime

metadata = MetaData()

# state: RUNNING (forward steps), COMPENSATING (undo + cancel steps), COMPLETED, CANCELLED.
# cursor: index of the next entry of the plan for that state (see orchestrator/steps.py).
SAGA_COLUMNS = (
    ("saga_id", String(36)), ("order_id", String(36)), ("shard", Integer),
    ("state", String(16)), ("cursor", Integer), ("failed_step", Integer),
    ("reason", String(40)), ("data", JSON), ("correlation_id", String(64)),
    ("retries", Integer), ("next_attempt_at", UTCDateTime), ("last_error", String(300)),
    ("created_at", UTCDateTime), ("updated_at", UTCDateTime), ("finished_at", UTCDateTime),
)
LOG_COLUMNS = (
    ("id", Integer), ("saga_id", String(36)), ("at", UTCDateTime), ("service", String(40)),
    ("step", String(60)), ("outcome", String(200)), ("correlation_id", String(64)),
)
NULLABLE = {"failed_step", "reason", "last_error", "finished_at"}


def _columns(spec, key):
    return [Column(name, kind, primary_key=(name == key), nullable=name in NULLABLE)
            for name, kind in spec]


sagas = Table("sagas", metadata, *_columns(SAGA_COLUMNS, "saga_id"))
# Trade-off 60: a log line's id is never given twice, on either database, so the archive can
# keep it (one id names one line for ever, and an archived log reads in the order it was
# written). PostgreSQL's sequence never goes back; SQLite hands out max(id) + 1 unless told
# AUTOINCREMENT, so once the newest lines were archived it gave their ids again and the next
# archival failed on the archive's key, every round from then on. AUTOINCREMENT costs SQLite
# one more row write (its sqlite_sequence table) per INSERT. A database created before this
# keeps its old table until `make reset`.
saga_log = Table("saga_log", metadata, *_columns(LOG_COLUMNS, "id"), sqlite_autoincrement=True)
Index("ix_sagas_state_shard", sagas.c.state, sagas.c.shard)
Index("ix_saga_log_saga", saga_log.c.saga_id)

# One row per shard: who drives its sagas, until when, and a fencing epoch bumped on takeover.
shard_leases = Table(
    "shard_leases", metadata,
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(120), nullable=True),
    Column("owner_url", String(120), nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("epoch", Integer, nullable=False),
)

# Finished sagas older than the retention move here with their whole log, in the same
# transaction as the delete from the live tables: nothing is deleted unless archived.
sagas_archive = Table("sagas_archive", metadata, *_columns(SAGA_COLUMNS, "saga_id"),
                      Column("archived_at", UTCDateTime, nullable=False))
saga_log_archive = Table("saga_log_archive", metadata, *_columns(LOG_COLUMNS, "id"),
                         Column("archived_at", UTCDateTime, nullable=False))
Index("ix_saga_log_archive_saga", saga_log_archive.c.saga_id)
