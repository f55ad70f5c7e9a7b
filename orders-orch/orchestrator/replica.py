"""One orchestrator replica: its shard leases, the sagas it drives now, and its three loops.

The loops run once per replica because a replica is ONE gunicorn worker with many threads
(see runner/processes.py): leases (renew, balance, take over a dead replica's shards),
recovery (resume unfinished sagas of owned shards that no thread here drives: self-healing,
C9), and archival (C13). The in-flight bound regulates load: a replica drives at most
ORCH_MAX_IN_FLIGHT sagas at once; above it POST /sagas answers 429.
"""
import logging
import os
import socket
import threading
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor

from shared.runtime import config
from orchestrator import archive, store, transport
from orchestrator.driver import Driver
from orchestrator.shards import LeaseLost, Leases, shard_of

log = logging.getLogger(__name__)


class Replica:
    """The sagas one orchestrator process drives, and the leases that entitle it to."""

    def __init__(self, session_factory, number, url, send=transport.send):
        self.session_factory, self.url = session_factory, url
        self.role = f"orchestrator-{number}"
        self.owner = f"{self.role}@{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.leases = Leases(session_factory, self.owner, url, self.role, config.orch_shards(),
                             config.orch_lease_ttl_ms())
        self.driver = Driver(session_factory, self.leases, send)
        self.max_in_flight = config.orch_max_in_flight()
        self.executor = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="saga")
        self.active, self.lock = {}, threading.Lock()

    def drive(self, saga_id, before=None):
        """Drive a saga in the background (once per replica); return its Future, None when full."""
        # exercise: load-shedding begin
        with self.lock:
            if saga_id in self.active:
                return self.active[saga_id]
            # Trade-off 11: a bounded number of sagas in flight. Above it the replica says 429
            # at once instead of queueing work it could not finish in anyone's time budget.
            if len(self.active) >= self.max_in_flight:
                return None
            future = self.active[saga_id] = Future()
        try:
            if before:
                before()
        except BaseException:
            self._forget(saga_id)
            raise
        self._launch(saga_id, future)
        return future
        # exercise: load-shedding end

    def _launch(self, saga_id, future):
        """Drive the saga in a thread of the pool, which completes the future when it stops."""
        self.executor.submit(self._run, saga_id, future)

    def _run(self, saga_id, future):
        try:
            future.set_result(self.driver.drive(saga_id))
        except LeaseLost as exc:  # another replica drives it now: not an error
            log.info("saga %s: stopped driving: %s", saga_id, exc)
            future.set_exception(exc)
        except Exception as exc:  # the saga stays in the database; recovery resumes it
            log.exception("saga %s: drive failed", saga_id)
            future.set_exception(exc)
        finally:
            self._forget(saga_id)

    def _forget(self, saga_id):
        with self.lock:
            self.active.pop(saga_id, None)

    def health_roles(self):
        """Return the heartbeats besides the leases' that /health needs (none over HTTP)."""
        return ()

    def recover_once(self):
        """Resume due unfinished sagas of the owned shards; return how many were started."""
        with self.lock:
            driving = list(self.active)
        room = self.max_in_flight - len(driving)
        if room <= 0 or not self.leases.owned:
            return 0
        started = 0
        for saga_id in store.due(self.session_factory, self.leases.owned, room, driving):
            if saga_id not in self.active and self.drive(saga_id) is not None:
                started += 1
        if started:
            log.info("recovery: resumed %d saga(s)", started)
        return started

    def tick_leases(self):
        """Renew and balance this replica's leases; the count of sagas it drives per shard
        lets it give back the least busy shard when it must give one it is driving."""
        with self.lock:
            busy = Counter(shard_of(saga_id, self.leases.shards) for saga_id in self.active)
        return self.leases.tick(busy)

    def archive_once(self):
        """Archive the finished sagas of the shards this replica leases, fenced per shard."""
        return archive.archive_all(self.session_factory, config.orch_retention_s(),
                                   self.leases.tokens())

    def start_loops(self):
        """Start the lease, recovery and archival loops in daemon threads."""
        self._loop("leases", self.tick_leases, config.orch_lease_ttl_ms() / 3000)
        self._loop("recovery", self.recover_once, config.orch_recovery_every_ms() / 1000)
        if config.orch_archive_every_s() > 0:
            self._loop("archival", self.archive_once, config.orch_archive_every_s())

    @staticmethod
    def _loop(name, work, every_s):
        def run():
            while True:
                try:
                    work()
                except Exception:  # keep the loop alive; the next round tries again
                    log.exception("%s loop: round failed", name)
                threading.Event().wait(every_s)
        threading.Thread(target=run, name=name, daemon=True).start()
