"""Engines and transactions for each service's own database (SQLite by default, PostgreSQL by URL).

Two kinds of transaction, the same code on both databases:
- `transaction()` for work that writes. Each domain step is atomic at row level by itself
  (conditional UPDATEs, INSERT ... ON CONFLICT DO NOTHING, SELECT ... FOR UPDATE; see
  shared/domain/), so writers of one database only wait for each other on the rows they share.
- `read_only()` for GETs, inspection and read-only steps: it takes no write lock at all.
  A session used without either (SQLAlchemy's autobegin) is a reader too.
Both yield a SQLAlchemy Connection, which the code calls `session` (it is the unit of work's
handle: `session.execute(...)`); `after_commit()` runs code once a transaction committed.

SQLite allows one writer per database file at a time whatever we do. With WAL journaling
readers never wait for that writer, and a write transaction takes the write lock up front
(BEGIN IMMEDIATE): a transaction that starts as a reader and later writes would have to
upgrade its lock, and two such upgraders deadlock (SQLite then fails one at once with
"database is locked", without waiting out the busy timeout). PostgreSQL takes row locks as
statements run, so it needs nothing at BEGIN.
"""
import contextlib
import functools
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import bindparam, create_engine, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import sessionmaker

BUSY_TIMEOUT_MS = 30_000
WRITE_LOCK_POLL_S = 0.001  # how often a writer of another process looks for SQLite's write lock
WAL_SWITCH_POLL_S = 0.01  # how often a new file's second opener tries its switch to WAL again
PG_SCHEMA_LOCK_KEY = 7_415_001  # any constant: advisory locks are scoped to one database
WRITES = "writes"  # the execution option that marks a write transaction
_AFTER_COMMIT = "after_commit"  # the connection.info key of a transaction's callbacks
_AT_COMMIT = "at_commit"  # ... and of the rows it inserts last (insert_if_absent_at_commit)


def _tune_sqlite(engine):
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let us issue BEGIN ourselves
        _use_wal(dbapi_connection)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A reader takes a snapshot and no lock (WAL); a writer takes the write lock up front.
        if conn.get_execution_options().get(WRITES):
            _begin_immediate(conn.connection.dbapi_connection)
        else:
            conn.exec_driver_sql("BEGIN")


def _use_wal(dbapi_connection):
    """Switch the file to WAL journaling (the file keeps it: only a new file changes)."""
    # Two processes open a new file together (the orders API's two workers): while one
    # creates its tables, SQLite refuses the other's switch at once, without its busy wait,
    # and that worker failed to boot (seen in CI). So wait for the switch as for a write lock.
    _execute_while_locked(dbapi_connection, "PRAGMA journal_mode=WAL", WAL_SWITCH_POLL_S)


def _begin_immediate(dbapi_connection):
    """Take SQLite's write lock, looking for it every millisecond while another process holds it."""
    # Trade-off 45: SQLite's own busy handler sleeps 1, 2, 5 ... up to 100 ms between looks,
    # so under load the lock sits free while the next writer of another process sleeps (the
    # orders API's two workers and the orders worker share one file). Looking every
    # millisecond costs a few microseconds of CPU per look, only while another process holds it.
    dbapi_connection.execute("PRAGMA busy_timeout=0")  # fail at once; we wait below
    try:
        _execute_while_locked(dbapi_connection, "BEGIN IMMEDIATE", WRITE_LOCK_POLL_S)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _execute_while_locked(dbapi_connection, statement, poll_s):
    """Execute `statement`; while SQLite refuses it because another connection holds the file
    locked, try again every `poll_s` seconds, for at most BUSY_TIMEOUT_MS."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            dbapi_connection.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(poll_s)


def make_engine(url, pool_size=10):
    """Create an engine for a database URL, creating the SQLite file's folder if needed."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=pool_size, max_overflow=10,
                               connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _tune_sqlite(engine)
        return engine
    # A row lock is waited for as long as SQLite waits for its write lock, then fails like it.
    connect_args = ({"options": f"-c lock_timeout={BUSY_TIMEOUT_MS}"}
                    if url.startswith("postgresql") else {})
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True,
                         connect_args=connect_args)


def make_session_factory(engine, *metadatas):
    """Create the tables of the given metadatas (idempotent) and return a session factory."""
    with _writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            # An API and a worker of one service start together: without this lock both see
            # a table missing and both try to create it.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_SCHEMA_LOCK_KEY})")
        for metadata in metadatas:
            metadata.create_all(conn)
    return sessionmaker(engine, expire_on_commit=False)


@functools.lru_cache(maxsize=None)
def _writer(engine):
    return engine.execution_options(**{WRITES: True})  # same pool, marked for _on_begin


@functools.lru_cache(maxsize=None)
def _threads_take_turns(engine):
    """Return the lock the writing threads of this process queue on (SQLite only)."""
    # SQLite lets a writer that finds the database locked sleep and retry (1, 2, 5, 10... ms),
    # so two threads of one process that want the write lock together waste those sleeps.
    # Queuing them on a lock of our own hands the write lock over at once. Writers in other
    # processes still meet SQLite's busy timeout.
    return threading.RLock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()


@contextmanager
def transaction(session_factory):
    """Yield a connection for work that writes: committed on success, rolled back on any
    error; then run what after_commit() registered (only if it committed)."""
    engine = session_factory.kw["bind"]
    callbacks = []
    # Trade-off 47: a Core connection, not an ORM Session: nothing here uses the ORM's
    # identity map or unit of work, and a Session around each transaction cost ~0.15 ms of
    # CPU (its begin, commit and close), more than the statements of a small step.
    with _threads_take_turns(engine), _writer(engine).begin() as connection:
        connection.info[_AFTER_COMMIT] = callbacks
        connection.info[_AT_COMMIT] = last_rows = {}
        try:
            yield connection
            _insert_last(connection, last_rows)
        finally:
            del connection.info[_AFTER_COMMIT]  # the info outlives us: it is the pooled
            del connection.info[_AT_COMMIT]     # DBAPI connection's
    for callback in callbacks:
        callback()


def after_commit(session, callback):
    """Call `callback()` once the transaction of `session` (from transaction()) has committed;
    never if it rolls back. A callback registered twice runs once."""
    callbacks = session.info[_AFTER_COMMIT]
    if callback not in callbacks:
        callbacks.append(callback)


@contextmanager
def read_only(session_factory):
    """Yield a connection for reads only: it never waits for a writer, nor holds one up."""
    with _reader(session_factory.kw["bind"]).begin() as connection:
        yield connection


@functools.lru_cache(maxsize=None)
def _reader(engine):
    # Trade-off 112: on PostgreSQL a read runs each statement in a transaction of its own
    # (autocommit), without the BEGIN and COMMIT around them: two round trips fewer per read,
    # about 0.15 ms of CPU on both ends together (client and server). At PostgreSQL's default
    # isolation, READ COMMITTED, each statement of a transaction took a fresh snapshot anyway,
    # so what a read sees is the same. The price: a read that must see one snapshot across
    # statements has to ask for REPEATABLE READ itself. SQLite keeps its BEGIN: there the
    # transaction is the snapshot that keeps a reader's statements consistent (WAL).
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")  # same pool
    return engine


def insert_if_absent(session, table, values, *conflict_columns):
    """INSERT a row unless one with the same `conflict_columns` exists; True if inserted.

    One statement, atomic on both databases: two transactions inserting the same key at once
    never both succeed, and the loser neither fails nor waits for a retry. On PostgreSQL the
    loser waits for the winner's commit (or rollback) and then knows which happened.
    `values` may also be a list of rows: one statement then inserts those that are absent (True
    if any was).
    """
    statement = _insert_if_absent(session.dialect.name, table, conflict_columns)
    return session.execute(statement, values).first() is not None  # a row only if inserted


def insert_if_absent_at_commit(session, table, rows, conflict_column):
    """Like insert_if_absent, but at the end of the transaction of `session` (from
    transaction()), just before its commit: every row given this way in the transaction, sent
    together, sorted by `conflict_column` (of two rows with one key, the first given is kept).
    Nothing is inserted if the work raises, and nothing tells which rows were new."""
    pending = session.info[_AT_COMMIT].setdefault((table, conflict_column), {})
    for row in rows:
        pending.setdefault(row[conflict_column], row)


def _insert_last(session, last_rows):
    # Trade-off 54: on PostgreSQL an INSERT that meets a key another transaction inserted but
    # has not committed waits for that transaction. Two transactions inserting overlapping keys
    # in different orders (the choreographed tracker's batch and the transaction that settles
    # an order write the same timeline rows) each held a key the other waited for: a deadlock,
    # which PostgreSQL breaks after a second by failing one of them. Taking every such key at
    # the end, in one sorted order, leaves a wait but no cycle. The price: the rows exist only
    # at the commit, so the transaction's own statements cannot read them back.
    for (table, conflict_column), pending in last_rows.items():
        # Trade-off 113: one short statement run for each row (executemany; psycopg sends them
        # all in one round trip, a pipeline), not insert_if_absent's one statement for the lot.
        # With its RETURNING, SQLAlchemy folds the rows into one INSERT of seven parameters a
        # row, whose text differs with the batch's size: too long for psycopg's cache of
        # converted queries, so it was parsed again in Python on every run, a fifth of the
        # choreographed orders worker's CPU on PostgreSQL (py-spy). The price: PostgreSQL runs
        # one INSERT per row (about a fifth more of its own CPU for 64 rows), and nothing tells
        # which rows were new.
        session.execute(_insert_each_if_absent(session.dialect.name, table, conflict_column),
                        [pending[key] for key in sorted(pending)])


def first_row(session, table, **equal):
    """Return the first row of `table` whose columns have the given values, or None."""
    return session.execute(_select_where(table, tuple(equal)), equal).mappings().first()


def update_where(session, table, where, **values):
    """UPDATE the rows of `table` whose columns have the values of `where` (a dict) with
    `values`; return how many rows changed. A condition on the current status makes it a
    compare-and-set: of two racing calls, only one finds the row still in that status.
    (A None in `where` compares with = NULL, which nothing matches: write IS NULL inline.)"""
    parameters = {**{f"where_{name}": value for name, value in where.items()},
                  **{f"new_{name}": value for name, value in values.items()}}
    return session.execute(_update_where(table, tuple(where), tuple(values)),
                           parameters).rowcount


# Trade-off 46: the statements of the three helpers above are built once per shape and run with
# the row's values as parameters. Building a statement around its values each time made
# SQLAlchemy walk the whole new statement to find its compiled form in the cache: about 0.2 ms
# of CPU per statement, most of what a one-row statement cost. The price: SQL written through
# these helpers (or as module-level statements with bindparam) rather than inline.
@functools.lru_cache(maxsize=None)
def _insert_if_absent(dialect_name, table, conflict_columns):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (dialect.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
            .returning(*(table.c[name] for name in conflict_columns)))


@functools.lru_cache(maxsize=None)
def _insert_each_if_absent(dialect_name, table, conflict_column):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=[conflict_column])


@functools.lru_cache(maxsize=None)
def _select_where(table, columns):
    return select(table).where(*(table.c[name] == bindparam(name) for name in columns))


@functools.lru_cache(maxsize=None)
def _update_where(table, where_columns, value_columns):
    return (update(table)
            .where(*(table.c[name] == bindparam(f"where_{name}") for name in where_columns))
            .values({name: bindparam(f"new_{name}") for name in value_columns}))


def open_service_database(service, metadata, pool_size=None):
    """Return a session factory for a service's own database (its tables plus plumbing)."""
    from shared.runtime import config
    from shared.models import plumbing
    # A connection for each unit of work the service runs at once (CONCURRENCY: request
    # threads or consumers); the pool's overflow covers the relay, the tracker and a health check.
    engine = make_engine(config.database_url(service), pool_size or config.concurrency())
    return make_session_factory(engine, metadata, plumbing.metadata)
