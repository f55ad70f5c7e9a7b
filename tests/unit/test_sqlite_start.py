"""Two processes opening one new SQLite file together (the orders API's two gunicorn workers
on a fresh var/): the second's switch to WAL journaling must wait for the first, not fail.
SQLite refuses that switch at once, without its busy wait, while another connection writes
(seen in CI: a worker failed to boot with "database is locked" and gunicorn stopped).

And a writer of one process while another holds the write lock: it looks for the lock every
millisecond (Trade-off 45), takes it once free, and gives up with "locked" after the busy
timeout, as SQLite's own wait would."""
import sqlite3
import threading

import pytest
from sqlalchemy import text

from shared.runtime import db
from shared.runtime.db import make_engine, make_session_factory


def test_a_new_file_being_written_by_another_connection_is_waited_for_then_switched_to_wal(
        tmp_path):
    path = tmp_path / "orders.db"
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # a new file:
    first.execute("BEGIN IMMEDIATE")  # still a rollback journal
    first.execute("CREATE TABLE t (x)")  # the other process, creating its tables
    releases = threading.Timer(0.5, lambda: first.execute("COMMIT"))
    releases.start()
    try:
        engine = make_engine(f"sqlite:///{path}", pool_size=1)
        with engine.connect() as connection:
            mode = connection.execute(text("PRAGMA journal_mode")).scalar()
    finally:
        releases.join()
        first.close()
    assert mode == "wal"


def _hold_write_lock(path, seconds):
    """Another process's writer: hold the file's write lock for `seconds`, then commit."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    releases = threading.Timer(seconds, lambda: (other.execute("COMMIT"), other.close()))
    releases.start()
    return releases


def test_a_writer_waits_for_the_write_lock_another_connection_holds_then_writes(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'orders.db'}", pool_size=1)
    make_session_factory(engine)  # a WAL file, as every service's
    releases = _hold_write_lock(tmp_path / "orders.db", 0.3)
    try:
        with db._writer(engine).begin() as connection:  # BEGIN IMMEDIATE, looked for every 1 ms
            connection.exec_driver_sql("CREATE TABLE written (x)")
    finally:
        releases.join()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM written")).scalar() == 0


def test_a_writer_gives_up_with_locked_once_the_busy_timeout_has_passed(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    engine = make_engine(f"sqlite:///{tmp_path / 'orders.db'}", pool_size=1)
    make_session_factory(engine)
    releases = _hold_write_lock(tmp_path / "orders.db", 1.0)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # raised by the begin hook
            with db._writer(engine).begin():
                pass
    finally:
        releases.join()
