"""Engines and transactions for each service's own database (SQLite by default, PostgreSQL by URL).

Plumbing, not the lesson. SQLite is tuned so that several processes can write under load
without "database is locked": WAL journaling, a long busy timeout, and write transactions
that take the write lock up front (BEGIN IMMEDIATE) instead of failing on upgrade.

PostgreSQL gets the same one-transaction-at-a-time rule per database (a transaction-scoped
advisory lock taken at BEGIN), because the domain code was written against SQLite's model:
read-then-write steps such as releasing a reservation rely on no other transaction of the
same database running in between. The lock also serializes create_all, so an API and a worker
of one service that start together do not race to create the same tables.
"""
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker

BUSY_TIMEOUT_MS = 30_000
PG_LOCK_KEY = 7_415_001  # any constant: advisory locks are scoped to one database


def _tune_sqlite(engine):
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let us issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _tune_postgresql(engine):
    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")


def make_engine(url):
    """Create an engine for a database URL, creating the SQLite file's folder if needed."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _tune_sqlite(engine)
        return engine
    if not url.startswith("postgresql"):
        return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    # Wait for the lock as long as SQLite waits for its write lock, then fail like it does.
    engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True,
                           connect_args={"options": f"-c lock_timeout={BUSY_TIMEOUT_MS}"})
    _tune_postgresql(engine)
    return engine


def make_session_factory(engine, *metadatas):
    """Create the tables of the given metadatas (idempotent) and return a session factory."""
    for metadata in metadatas:
        metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(session_factory):
    """Yield a session whose work is committed on success and rolled back on any error."""
    with session_factory() as session, session.begin():
        yield session


def open_service_database(service, metadata):
    """Return a session factory for a service's own database (its tables plus plumbing)."""
    from shared import config
    from shared.models import plumbing
    engine = make_engine(config.database_url(service))
    return make_session_factory(engine, metadata, plumbing.metadata)
