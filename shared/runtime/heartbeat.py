"""Heartbeats: a worker proves it is alive by writing a row that GET /health reads."""
import os
import platform
import threading
import time

from sqlalchemy import insert, update

from shared.models.base import utcnow
from shared.models.plumbing import heartbeats
from shared.runtime.db import transaction


def worker_name(role):
    """Return this process's heartbeat name for a role, e.g. `consumer:payments.events@host-12`."""
    return f"{role}@{platform.node()}-{os.getpid()}"


def beat(session_factory, name):
    """Record that the named worker is alive now."""
    with transaction(session_factory) as session:
        now = utcnow()
        if session.execute(update(heartbeats).where(heartbeats.c.worker == name)
                           .values(beat_at=now)).rowcount == 0:
            session.execute(insert(heartbeats).values(worker=name, beat_at=now))


class Pulse:
    """One heartbeat row shared by the threads that play one role in a process (the competing
    consumers of one queue): each calls beat() on its own timer, and whichever finds the row
    due writes it; the others skip. Safe to call from several threads."""

    def __init__(self, session_factory, name, every_s):
        self.session_factory, self.name, self.every_s = session_factory, name, every_s
        self._lock = threading.Lock()
        self._due = 0.0  # time.monotonic() when the row needs writing again

    def beat(self):
        """Write the row if no thread of this role wrote it in the last `every_s` seconds."""
        with self._lock:
            now = time.monotonic()
            if now < self._due:
                return
            self._due = now + self.every_s
        beat(self.session_factory, self.name)
