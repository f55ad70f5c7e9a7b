"""Sagas are split into a fixed number of shards, and each replica drives the shards it leases.

A lease has an owner and an expiry; the owner renews it every third of its time to live. A
replica that dies stops renewing; once its leases expire, the live replicas take its shards
over. Shards are balanced: each live replica (one with a fresh heartbeat) aims for
ceil(shards / live replicas), and gives back extra shards it is not driving a saga of.
Every saga write is fenced on the lease (fence() below), so a replica that stalled past its
lease can never write over the replica that took its shard over.
"""
import hashlib
import math
from datetime import timedelta

from sqlalchemy import func, insert, select, update

from shared.db import transaction
from shared.heartbeat import beat, worker_name
from shared.models.base import utcnow
from shared.models.orchestrator import shard_leases
from shared.models.plumbing import heartbeats

ROLE_PREFIX = "leases:"


class LeaseLost(Exception):
    """This replica no longer holds the lease of the saga's shard: stop driving it."""


def shard_of(order_id, shards):
    """Return a saga's shard: a stable hash of its order id (Python's hash() is salted)."""
    return int.from_bytes(hashlib.sha256(order_id.encode()).digest()[:8], "big") % shards


def fence(session, shard, owner):
    """Raise LeaseLost unless `owner` holds the shard's lease now (call inside the write)."""
    # Trade-off 14: the lease is checked inside the same transaction as the saga write (C12),
    # so a replica that stalled past its lease cannot overwrite the new owner. Every write
    # pays one locked read of the lease row for it.
    row = session.execute(select(shard_leases.c.owner, shard_leases.c.expires_at)
                          .where(shard_leases.c.shard == shard).with_for_update()).first()
    if row is None or row.owner != owner or row.expires_at <= utcnow():
        raise LeaseLost(f"shard {shard} is not leased to {owner}")


class Leases:
    """The shard leases of one replica: renewed, balanced and taken over by tick()."""

    def __init__(self, session_factory, owner, url, role, shards, ttl_ms):
        self.session_factory, self.owner, self.url = session_factory, owner, url
        self.beat_name = worker_name(ROLE_PREFIX + role)
        self.shards, self.ttl = shards, timedelta(milliseconds=ttl_ms)
        self.owned = frozenset()

    def tick(self, busy=frozenset()):
        """Renew, balance and take over leases; return the shards this replica now owns."""
        beat(self.session_factory, self.beat_name)
        with transaction(self.session_factory) as session:
            now = utcnow()
            rows = self._rows(session)
            target = math.ceil(self.shards / self._live(session, now))
            mine = sorted(r.shard for r in rows if r.owner == self.owner)
            free = [r.shard for r in rows if r.owner != self.owner
                    and (r.owner is None or r.expires_at <= now)]
            extra = [s for s in reversed(mine) if s not in busy][:max(0, len(mine) - target)]
            take = free[:max(0, target - len(mine))]
            keep = [s for s in mine if s not in extra]
            self._set(session, keep, owner=self.owner, owner_url=self.url, expires_at=now + self.ttl)
            self._set(session, extra, owner=None, owner_url=None, expires_at=now)
            self._set(session, take, owner=self.owner, owner_url=self.url,
                      expires_at=now + self.ttl, epoch=shard_leases.c.epoch + 1)
        self.owned = frozenset(keep + take)
        return self.owned

    def owns(self, shard):
        """Return True if this replica held the shard at its last tick (writes still fence)."""
        return shard in self.owned

    def owner_url(self, shard):
        """Return the URL of the replica holding the shard's lease now, or None."""
        with self.session_factory() as session:
            row = session.execute(select(shard_leases).where(shard_leases.c.shard == shard)
                                  ).mappings().first()
        return row["owner_url"] if row and row["expires_at"] > utcnow() else None

    def _rows(self, session):
        rows = session.execute(select(shard_leases).order_by(shard_leases.c.shard)).all()
        missing = set(range(self.shards)) - {r.shard for r in rows}
        for shard in sorted(missing):
            session.execute(insert(shard_leases).values(shard=shard, owner=None, owner_url=None,
                                                        expires_at=utcnow(), epoch=0))
        if missing:
            rows = session.execute(select(shard_leases).order_by(shard_leases.c.shard)).all()
        return [r for r in rows if r.shard < self.shards]

    def _live(self, session, now):
        fresh = session.execute(select(func.count()).select_from(heartbeats).where(
            heartbeats.c.worker.like(ROLE_PREFIX + "%"), heartbeats.c.beat_at > now - self.ttl))
        return max(1, fresh.scalar_one())

    @staticmethod
    def _set(session, shards, **values):
        if shards:
            session.execute(update(shard_leases).where(shard_leases.c.shard.in_(shards))
                            .values(**values))
