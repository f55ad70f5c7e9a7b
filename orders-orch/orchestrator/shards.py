"""Sagas are split into a fixed number of shards, and each replica drives the shards it leases.

A lease has an owner, an expiry and an epoch; the owner renews it every third of its time to
live. A replica that dies stops renewing; once its leases expire, the live replicas take its
shards over, and each takeover adds one to the shard's epoch. Shards are balanced: each live
replica (one with a fresh heartbeat) aims for ceil(shards / live replicas). A replica over it
gives back at once the extra shards it has no saga in flight on and, while still over, one
shard a tick that it is driving sagas of (the least busy one). Those sagas lose nothing:
their next write is fenced out (below), the thread driving each one stops, and the new owner's
recovery loop resumes them from their rows, sending the step in flight again under the same
Idempotency-Key (a replay, not a second effect).

The epoch is a fencing token: every saga write carries the Token (shard, owner, epoch) its
replica held when it started, and changes nothing unless the lease row still says exactly
that (HOLDS below, part of each write's WHERE). A replica that stalled past its lease can
never write over the replica that took its shard over.
"""
import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, exists, func, select, update

from shared.models.base import utcnow
from shared.models.plumbing import heartbeats
from shared.runtime.db import insert_if_absent, read_only, transaction
from shared.runtime.heartbeat import beat, worker_name
from orchestrator.tables import shard_leases

ROLE_PREFIX = "leases:"


class LeaseLost(Exception):
    """This replica no longer holds the lease of the saga's shard: it wrote nothing, and stops."""


@dataclass(frozen=True)
class Token:
    """A fencing token: the lease of `shard` as `owner` held it, at `epoch`."""
    shard: int
    owner: str
    epoch: int

    def parameters(self):
        """Return the token as the parameters of the HOLDS condition."""
        return {"lease_shard": self.shard, "lease_owner": self.owner, "lease_epoch": self.epoch}


def shard_of(order_id, shards):
    """Return a saga's shard: a stable hash of its order id (Python's hash() is salted)."""
    return int.from_bytes(hashlib.sha256(order_id.encode()).digest()[:8], "big") % shards


# The SQL condition "the shard's lease is still the writer's token", for a write's WHERE; it
# runs with Token.parameters() (built once, Trade-off 46 in shared/runtime/db.py).
# Trade-off 14: the lease is checked by the saga write itself (C12), so a replica that stalled
# past its lease cannot overwrite the new owner; the check is one indexed subquery inside each
# UPDATE, not an extra locked read. Nothing here reads a clock: a takeover bumps the epoch, so
# an old token fails whatever time its holder believes it is.
# exercise: fencing begin
HOLDS = exists().where(shard_leases.c.shard == bindparam("lease_shard"),
                       shard_leases.c.owner == bindparam("lease_owner"),
                       shard_leases.c.epoch == bindparam("lease_epoch"))
# exercise: fencing end


class Leases:
    """The shard leases of one replica: renewed, balanced and taken over by tick()."""

    def __init__(self, session_factory, owner, url, role, shards, ttl_ms):
        self.session_factory, self.owner, self.url = session_factory, owner, url
        self.beat_name = worker_name(ROLE_PREFIX + role)
        self.shards, self.ttl = shards, timedelta(milliseconds=ttl_ms)
        self.epochs = {}  # shard -> epoch of the leases held at the last tick

    @property
    def owned(self):
        """Return the shards this replica held at its last tick."""
        return frozenset(self.epochs)

    def tick(self, busy=()):
        """Renew, balance and take over leases; return the shards this replica now owns.

        `busy`: the shards this replica drives sagas of, as a set or as a Counter (shard ->
        sagas in flight)."""
        beat(self.session_factory, self.beat_name)
        with transaction(self.session_factory) as session:
            # Trade-off 25: expiry is judged with the replicas' own clocks (utcnow), so they are
            # assumed to agree to well within a TTL (one host, or NTP). A skewed clock only
            # moves a takeover earlier or later; it cannot make two writers, the epoch fences.
            now = utcnow()
            rows = self._rows(session)
            target = math.ceil(self.shards / self._live(session, now))
            mine = [r for r in rows if r.owner == self.owner]
            free = [r for r in rows if r.owner != self.owner
                    and (r.owner is None or r.expires_at <= now)]
            extra = self._extra(mine, target, Counter(busy))
            take = free[:max(0, target - len(mine))]
            epochs = {}
            for row in mine:
                if row in extra:
                    self._cas(session, row, owner=None, owner_url=None, expires_at=now)
                elif self._cas(session, row, expires_at=now + self.ttl):
                    epochs[row.shard] = row.epoch
            for row in take:
                if self._cas(session, row, owner=self.owner, owner_url=self.url,
                             expires_at=now + self.ttl, epoch=row.epoch + 1):
                    epochs[row.shard] = row.epoch + 1
        self.epochs = epochs
        return self.owned

    @staticmethod
    def _extra(mine, target, busy):
        """Return the leases to give back: every idle one over the target, then one busy one."""
        idle = [row for row in reversed(mine) if not busy[row.shard]]
        driven = sorted((row for row in mine if busy[row.shard]), key=lambda r: busy[r.shard])
        # Trade-off 77: a replica over its share gives back a shard it is driving sagas of, one
        # a tick and the least busy first, so replicas share the shards under sustained load
        # too, when every shard always has a saga in flight and none would ever be idle to give.
        # It costs each saga in flight on that shard a handover: its step is sent twice, once by
        # each replica (the Idempotency-Key makes the second a replay), and it waits for the
        # new owner's next lease tick and recovery round, a little latency.
        return (idle + driven[:1])[:max(0, len(mine) - target)]

    def token(self, shard):
        """Return the fencing token of a shard held at the last tick; raise LeaseLost if none."""
        if shard not in self.epochs:
            raise LeaseLost(f"shard {shard} is not leased to {self.owner}")
        return Token(shard, self.owner, self.epochs[shard])

    def tokens(self):
        """Return the fencing tokens of every shard held at the last tick."""
        return [Token(shard, self.owner, epoch) for shard, epoch in sorted(self.epochs.items())]

    def owns(self, shard):
        """Return True if this replica held the shard at its last tick (writes still fence)."""
        return shard in self.epochs

    def owner_url(self, shard):
        """Return the URL of the replica holding the shard's lease now, or None."""
        with read_only(self.session_factory) as session:
            row = session.execute(select(shard_leases).where(shard_leases.c.shard == shard)
                                  ).mappings().first()
        return row["owner_url"] if row and row["expires_at"] > utcnow() else None

    def _rows(self, session):
        rows = session.execute(select(shard_leases).order_by(shard_leases.c.shard)).all()
        missing = set(range(self.shards)) - {r.shard for r in rows}
        for shard in sorted(missing):  # two replicas starting at once: one row each, no error
            insert_if_absent(session, shard_leases, {"shard": shard, "owner": None,
                             "owner_url": None, "expires_at": utcnow(), "epoch": 0}, "shard")
        if missing:
            rows = session.execute(select(shard_leases).order_by(shard_leases.c.shard)).all()
        return [r for r in rows if r.shard < self.shards]

    def _live(self, session, now):
        fresh = session.execute(select(func.count()).select_from(heartbeats).where(
            heartbeats.c.worker.like(ROLE_PREFIX + "%"), heartbeats.c.beat_at > now - self.ttl))
        return max(1, fresh.scalar_one())

    @staticmethod
    def _cas(session, row, **values):
        """Update a lease row only if nobody changed it since it was read; True if it was."""
        return session.execute(update(shard_leases).where(
            shard_leases.c.shard == row.shard, shard_leases.c.epoch == row.epoch,
            shard_leases.c.owner.is_(None) if row.owner is None
            else shard_leases.c.owner == row.owner).values(**values)).rowcount == 1
