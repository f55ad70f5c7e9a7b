"""One write transaction at a time per SQLite database, queued in this process. Plumbing.

SQLite allows one writer per database file. A thread that finds the write lock taken sleeps
in SQLite's busy handler (1, 2, 5, 10 ... up to 100 ms) before it looks again, so with dozens
of saga threads most of the waiting happens after the lock is already free. Queuing this
process's writers on a Python lock hands the database to the next writer the moment the last
one commits. PostgreSQL locks rows, not the database: there the writers run at once.
"""
import threading
from contextlib import contextmanager, nullcontext

from shared.db import transaction

_locks, _guard = {}, threading.Lock()


def _queue(session_factory):
    engine = session_factory.kw["bind"]
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _guard:
        return _locks.setdefault(str(engine.url), threading.Lock())


@contextmanager
def write(session_factory):
    """Yield a session for one write transaction, queued behind this process's other writers."""
    # Trade-off 27: on SQLite the writers of this process wait in a queue of their own rather
    # than in SQLite's sleeping busy handler: no more serial than the file lock already made
    # them, and each hand-over is immediate. A second replica's process still meets the busy
    # handler; on PostgreSQL nothing is queued.
    with _queue(session_factory), transaction(session_factory) as session:
        yield session
