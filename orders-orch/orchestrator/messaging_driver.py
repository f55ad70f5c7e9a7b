"""Drive sagas by messages (ORCH_TRANSPORT=amqp): send a step's command, and let its reply
advance the saga. Read it beside driver.py: the saga, its plan and next_state() are the same
objects; only who waits differs.

    driver.py (HTTP): one loop per saga           messaging_driver.py (AMQP): no loop at all
      record the step "started"                     send(): record "started" AND queue the
      answer = call the service (a thread waits)            command in the outbox (one write)
      changes = next_state(saga, plan, answer)      on_reply(): changes = next_state(...), then
      advance, and loop to the next step                     advance, record the next step and
                                                             queue its command (one write)
                                                    resend_due(): no reply in time: same command

Every write is fenced by the shard's lease token, as in driver.py, and the command leaves
only through the outbox (shared/messaging/outbox.py; this replica's relay publishes it), so a
step is always recorded before its command exists. A reply is applied only if it answers the
saga's CURRENT step (its idempotency key names it): a duplicate or a late reply is dropped.
A reply reaching a replica that no longer holds the shard's lease changes nothing (the fence);
the new owner's recovery loop resends the command with ITS reply queue, and the service
answers with the stored reply (same key). See commands/amqp.py for the services'
side and the queues.
"""
import logging
from datetime import timedelta

from sqlalchemy import delete

from shared.messaging import outbox
from shared.messaging.envelope import Envelope
from shared.models.base import utcnow
from shared.models.plumbing import outbox as outbox_table
from shared.runtime import config, faults
from shared.runtime.db import after_commit, first_row, transaction
from commands import amqp
from orchestrator import saga as definition
from orchestrator import store, traces
from orchestrator.driver import next_state, state_of
from orchestrator.policy import classify
from orchestrator.shards import LeaseLost
from orchestrator.steps import FINAL, UNFINISHED
from orchestrator.transport import idempotency_key

log = logging.getLogger(__name__)
RESEND_BACKOFF_MAX = 8  # a resend waits at most 8 reply timeouts


def _crash_window():
    faults.crash_point("saga.before_call")  # a test's crash: committed, not yet published


class MessagingDriver:
    """Sends the commands of one replica's sagas and applies the replies they get."""

    def __init__(self, session_factory, leases, replica, settled=None, saga=None):
        self.session_factory, self.leases = session_factory, leases
        self.replica, self.reply_to = replica, amqp.reply_key(replica)
        # settled(saga_id, saga or None) is called after the commit that made a saga final or
        # left it for recovery, or after its reply was refused (None): a request may stop waiting.
        self.settled = settled or (lambda saga_id, saga: None)
        self.saga = saga or definition.saga()

    # --- sending ------------------------------------------------------------------------------
    def send(self, saga_id):
        """Send the current step's command of a saga: its first, or one stored by another
        replica; return the saga. Raises LeaseLost."""
        return self._send(saga_id, only_if_due=False)[0]

    def resend_due(self, saga_id):
        """The recovery loop's send: the same command again when no reply came within the
        timeout; return True if it was queued, False if the saga is no longer due."""
        return self._send(saga_id, only_if_due=True)[1]

    def _send(self, saga_id, only_if_due):
        """Return (the saga, whether a command was queued)."""
        with transaction(self.session_factory) as session:
            # Trade-off 116: the recovery loop may pick a saga while its launch sends the first
            # command (a new saga is due at once) or while a reply advances it. The row lock
            # makes the later sender wait and read what the earlier one wrote, so a command
            # is not sent twice (on PostgreSQL the second outbox row was refused and the whole
            # recovery round failed). The price: such a sender waits for the other's commit.
            saga = store.locked(session, saga_id)
            if saga is None or saga["state"] not in UNFINISHED:
                return saga, False
            if only_if_due and saga["next_attempt_at"] > utcnow():
                return saga, False  # its command was sent meanwhile: nothing is overdue
            token = self.leases.token(saga["shard"])
            changes, lines = self._again(session, saga)
            return self._record_and_queue(session, saga, token, changes, lines,
                                          replacing=bool(lines)), True

    def _again(self, session, saga):
        """Return (changes, lines) of sending the current step: a resend counts as a retry."""
        key = self._key(saga)
        if first_row(session, outbox_table, message_id=key) is None:
            return {}, []  # its first send (e.g. a saga stored by another replica)
        step, call, _ = self._current(saga)
        waited_ms = self._timeout(saga["retries"]) // timedelta(milliseconds=1)
        error = saga["last_error"] or f"no reply within {waited_ms} ms"  # or a failed answer
        return ({"retries": saga["retries"] + 1, "last_error": error},
                [(step.service, call.name, f"sent again: {error}")])

    def _record_and_queue(self, session, saga, token, changes, lines, replacing=False):
        """Apply `changes`, record the step they lead to as started, and queue its command
        (`replacing`: a resend, whose earlier row is in the outbox)."""
        after = {**saga, **changes}
        step, call, kind = self._current(after)
        changes = {**changes, "next_attempt_at": utcnow() + self._timeout(after["retries"])}
        saga = store.advance_in(session, saga, token, changes,
                                lines + [(step.service, call.name, "started")])
        after_commit(session, _crash_window)  # before the outbox wakes the relay (in order)
        self._queue(session, saga, step, call, kind, replacing)
        return saga

    def _queue(self, session, saga, step, call, kind, replacing):
        """Write the command to the outbox; a resend replaces the row of the earlier send."""
        method, path, body = call.request(state_of(saga))
        key = idempotency_key(saga["saga_id"], step.name, kind)
        if replacing:  # a first send has no row to replace: no statement for it
            session.execute(delete(outbox_table).where(outbox_table.c.message_id == key))
        command = Envelope(type=amqp.COMMAND, version=1, source=self.replica,
                           correlation_id=saga["correlation_id"], message_id=key,
                           data={"key": key, "method": method, "path": path, "body": body,
                                 "reply_to": self.reply_to})
        with traces.command_span(saga, step, call, kind, key):  # tracing: the row carries it
            outbox.add(session, command, routing_key=amqp.command_key(step.service),
                       owner=self.replica)

    # --- replies ------------------------------------------------------------------------------
    def on_reply(self, session, reply):
        """Apply one reply in the reply consumer's transaction (or drop it; see the docstring)."""
        key = reply.data["key"]
        saga = store.current(session, key.rsplit(":", 2)[0])
        if saga is None or saga["state"] not in UNFINISHED or self._key(saga) != key:
            log.info("reply %s dropped: not the current step of its saga (late or duplicate)",
                     key)
            return
        try:
            saga, settled = self._apply(session, saga, reply)
        except LeaseLost as exc:  # another replica drives this saga now: its reply is refused
            log.info("reply %s refused: %s", key, exc)
            saga, settled = None, True
        if settled:  # final, waiting for recovery, or no longer ours: a waiting request may go
            after_commit(session, lambda: self.settled(key.rsplit(":", 2)[0], saga))

    def _apply(self, session, saga, reply):
        """next_state() on the reply's answer; the next step's command rides in the same write.
        Return (saga, settled): settled unless a next command was queued."""
        token = self.leases.token(saga["shard"])  # LeaseLost unless this replica holds it
        plan = self.saga.plan(saga["state"], saga["failed_step"])
        answer = classify(reply.data["status"], reply.data["body"])
        step, call, _ = self._current(saga)
        with traces.reply_span(saga, step, call, answer):  # tracing: the reply's handling
            changes, lines = next_state(saga, plan, answer, utcnow())
            log.info("saga %s: %s", saga["saga_id"], "; ".join(f"{s}: {o}" for _, s, o in lines))
            if "next_attempt_at" in changes or {**saga, **changes}["state"] in FINAL:
                # final, or a failure left for the recovery loop's resend: no command now
                return store.advance_in(session, saga, token, changes, lines), True
            return self._record_and_queue(session, saga, token, changes, lines), False

    # --- the current step ---------------------------------------------------------------------
    def _current(self, saga):
        return self.saga.plan(saga["state"], saga["failed_step"])[saga["cursor"]]

    def _key(self, saga):
        step, _, kind = self._current(saga)
        return idempotency_key(saga["saga_id"], step.name, kind)

    @staticmethod
    def _timeout(retries):
        # Trade-off 79: a lost reply (or command) is noticed by a timeout alone, then the
        # command is sent again with the same key: nothing tracks a message in flight. The
        # price: a reply slower than ORCH_REPLY_TIMEOUT_MS (a long queue) costs a useless
        # resend and a second reply to drop, and a truly lost one waits the whole timeout.
        factor = min(2 ** retries, RESEND_BACKOFF_MAX)
        return timedelta(milliseconds=config.orch_reply_timeout_ms() * factor)
