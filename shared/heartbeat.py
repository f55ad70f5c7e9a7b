"""Heartbeats: a worker proves it is alive by writing a row that GET /health reads."""
import os
import platform

from sqlalchemy import insert, update

from shared.db import transaction
from shared.models.base import utcnow
from shared.models.plumbing import heartbeats


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
