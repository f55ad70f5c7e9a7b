"""Two processes opening one new SQLite file together (the orders API's two gunicorn workers
on a fresh var/): the second's switch to WAL journaling must wait for the first, not fail.
SQLite refuses that switch at once, without its busy wait, while another connection writes
(seen in CI: a worker failed to boot with "database is locked" and gunicorn stopped)."""
import sqlite3
import threading

from sqlalchemy import text

from shared.runtime.db import make_engine


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
