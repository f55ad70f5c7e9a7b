"""The outbox relay: publish committed events, and mark each sent only after the broker confirmed it.

Guarantee: at-least-once. If the relay dies after the broker confirmed a message but before
the row is marked sent, the message is published again on restart; consumers drop the
duplicate by its message id. What can never happen is an event that is marked sent but was
not stored by the broker.

How a round goes, on pika's asynchronous connection (its I/O loop runs in the relay's thread):
1. read up to BATCH unsent rows, publish them all (mandatory, on a channel in confirm mode),
   remembering which delivery tag carries which row;
2. the broker acks the tags (often many in one `multiple` ack); a message it could not route
   comes back first (basic.return) and is parked, to be tried again later;
3. when every tag of the batch is answered, mark the confirmed rows sent in ONE statement,
   and start the next round at once.
A round starts when the writing code of this process commits an event (outbox.wake_on_commit),
or by polling when there was nothing to do (rows written by another process): after
IDLE_WAIT_S, doubled after each empty round up to IDLE_MAX_S, so an idle relay costs little.
"""
import logging
import threading
import time

import pika
from pika.exceptions import AMQPConnectionError, AMQPError
from sqlalchemy import bindparam, select, update

from shared import tracing
from shared.messaging import outbox as outbox_module
from shared.messaging.connection import nodes, run_forever
from shared.messaging.topology import EXCHANGE, persistent
from shared.models.base import utcnow
from shared.models.plumbing import outbox
from shared.runtime import faults
from shared.runtime.db import read_only, transaction
from shared.runtime.heartbeat import beat, worker_name

log = logging.getLogger(__name__)
BATCH = 200
IDLE_WAIT_S = 0.05  # the first poll after an empty round; doubled while idle, up to IDLE_MAX_S
IDLE_MAX_S = 0.4
BEAT_EVERY_S = 2
PARK_S = 1.0
CONFIRM_TIMEOUT_S = 30  # a batch without every confirm by then goes out again on a new connection
# The relay's two statements, built once and run with parameters (Trade-off 46,
# shared/runtime/db.py).
_UNSENT = select(outbox).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id).limit(BATCH)
_MARK_SENT = (update(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True)))
              .values(sent_at=bindparam("now")))


class OutboxRelay:
    """Publishes a service's outbox rows in the order they were written."""

    def __init__(self, session_factory, amqp_url, exchange=EXCHANGE, only=None):
        """`only`: a condition on the outbox rows this relay publishes (default: every row),
        e.g. the orchestrated services' replies, not the orders service's handover rows."""
        self.session_factory = session_factory
        self.amqp_url, self.exchange = amqp_url, exchange
        self._unsent = _UNSENT if only is None else _UNSENT.where(only)
        self.name = worker_name("relay")
        self.stopping = threading.Event()
        self._last_beat = 0.0
        self._parked = {}  # outbox id -> when to try an unroutable (or nacked) event again
        self._current = None  # the _Rounds of the open connection

    def stop(self):
        """Ask the relay to stop after its current batch (safe from another thread)."""
        self.stopping.set()
        self.wake()

    def wake(self):
        """Start a round now (safe from any thread): an event was just committed."""
        current = self._current
        if current is not None:
            current.wake()

    def run(self):
        """Relay until stopped, reconnecting after broker restarts."""
        outbox_module.wake_on_commit(self.wake)
        run_forever(self.name, self._run_connected, self.stopping.is_set)

    def _run_connected(self):
        self._current = _Rounds(self)
        try:
            self._current.run()
        finally:
            self._current = None

    def unsent(self):
        """Return up to BATCH unsent rows that are not parked, oldest first."""
        self._beat()
        with read_only(self.session_factory) as session:
            rows = session.execute(self._unsent).mappings().all()
        now = time.monotonic()
        return [row for row in rows if self._parked.get(row["id"], 0) <= now]

    def park(self, row, why):
        """Keep a row unsent and try it again after PARK_S, rather than drop it or let it
        block the events behind it (e.g. no queue is bound for its type yet)."""
        log.warning("%s %s; retrying in %ss", row["routing_key"], why, PARK_S)
        self._parked[row["id"]] = time.monotonic() + PARK_S

    def mark_sent(self, ids):
        """Mark the confirmed rows sent, in one statement."""
        for row_id in ids:
            self._parked.pop(row_id, None)
        with transaction(self.session_factory) as session:
            session.execute(_MARK_SENT, {"ids": ids, "now": utcnow()})

    def _beat(self):
        if time.monotonic() - self._last_beat >= BEAT_EVERY_S:
            beat(self.session_factory, self.name)
            self._last_beat = time.monotonic()


class _Rounds:
    """One connection's life: publishing rounds driven by the I/O loop's callbacks."""

    def __init__(self, relay):
        self.relay = relay
        self.channel = self.timer = self.error = None
        self.in_flight = {}  # delivery tag -> outbox row, for the batch being confirmed
        self.overdue = None  # the timer that gives up on the batch's missing confirms
        self.next_tag = 1
        self.idle_wait = IDLE_WAIT_S
        self.wake_pending = False  # a wake is queued for the I/O loop (Trade-off 90)
        self.confirmed, self.returned = [], set()
        # One node per connection, drawn at random from the list (Trade-off 95): when it does
        # not answer, run_forever() draws again after its backoff, so a cluster with a node
        # down costs the relay a failed attempt or two. Rows the lost connection had not seen
        # confirmed are still unsent, and the next round publishes them again (Trade-off 2).
        self.connection = pika.SelectConnection(
            nodes(relay.amqp_url)[0], on_open_callback=self._opened, on_open_error_callback=self._open_failed,
            on_close_callback=self._closed)

    def run(self):
        """Run the I/O loop until the connection closes; raise what closed it, unless asked."""
        self.connection.ioloop.start()
        if self.error is not None and not self.relay.stopping.is_set():
            raise self.error

    def wake(self):
        # Trade-off 90: the wakes that arrive before the I/O loop runs become one: a busy
        # service commits events faster than the loop turns, and each wake costs a write to
        # the loop's socket and a turn of it. The price: a flag shared by the committing
        # threads and the loop, set and cleared without a lock (a lost race only wakes twice).
        if not self.wake_pending:
            self.wake_pending = True
            self.connection.ioloop.add_callback_threadsafe(self._woken)

    def _woken(self):
        self.wake_pending = False
        self.idle_wait = IDLE_WAIT_S
        self._schedule(0)

    # --- the connection's events -------------------------------------------------------------
    def _opened(self, connection):
        connection.channel(on_open_callback=self._channel_opened)

    def _channel_opened(self, channel):
        self.channel = channel
        channel.add_on_close_callback(lambda _ch, reason: self._fail(reason))
        channel.add_on_return_callback(self._returned)
        channel.confirm_delivery(ack_nack_callback=self._confirmed,
                                 callback=lambda _frame: channel.exchange_declare(
                                     self.relay.exchange, exchange_type="topic", durable=True,
                                     callback=lambda _frame: self._schedule(0)))

    def _open_failed(self, _connection, error):
        # pika reports a failed open with exception types of its own, not all of them an
        # AMQPError (AMQPConnectionWorkflowFailed, when a cut-off node is tried): wrapped, so
        # that run_forever() tries again rather than let the relay's thread die (seen).
        self.error = error if isinstance(error, AMQPError) else AMQPConnectionError(repr(error))
        self.connection.ioloop.stop()

    def _closed(self, _connection, reason):
        self.error = self.error or reason
        self.connection.ioloop.stop()

    def _fail(self, error):
        self.error = self.error or error
        if self.connection.is_open:
            self.connection.close()

    # --- the rounds --------------------------------------------------------------------------
    def _schedule(self, delay):
        if self.timer is not None:
            self.connection.ioloop.remove_timeout(self.timer)
        self.timer = self.connection.ioloop.call_later(delay, self._round)

    def _round(self):
        self.timer = None
        if self.relay.stopping.is_set():
            self._fail(None)
            return
        if self.in_flight or self.channel is None or not self.channel.is_open:
            return  # the batch's last confirm starts the next round
        try:
            rows = self.relay.unsent()
        except Exception as exc:  # database unavailable: reconnect and start again
            self._fail(exc)
            return
        if not rows:
            self._schedule(self.idle_wait)
            self.idle_wait = min(self.idle_wait * 2, IDLE_MAX_S)
            return
        self.idle_wait = IDLE_WAIT_S
        # Trade-off 19: the whole batch is published before any confirm is awaited, so the
        # broker's fsync and the round trip are paid once per batch, not once per event. The
        # price: a crash or a lost connection mid-batch publishes every unconfirmed row of it
        # again (more duplicates for the consumers to drop), and the code is callbacks.
        for row in rows:
            with tracing.publish_span(row, self.relay.exchange) as headers:  # tracing
                self.channel.basic_publish(
                    self.relay.exchange, row["routing_key"], row["body"], mandatory=True,
                    properties=persistent(row["routing_key"], row["message_id"], None, headers))
            self.in_flight[self.next_tag] = row
            self.next_tag += 1
            faults.crash_point("relay.mid_batch")  # a test's crash window: before any confirm
        self.overdue = self.connection.ioloop.call_later(CONFIRM_TIMEOUT_S, self._confirms_overdue)

    def _confirms_overdue(self):
        # Trade-off 98: a batch whose confirms have not all come within CONFIRM_TIMEOUT_S is
        # given up: the connection is closed and run_forever() opens another (to any live
        # node), whose rounds publish the unconfirmed rows again. On a cluster a confirm can be
        # lost (seen: a quorum queue's leader cut off mid-publish left the relay waiting for
        # minutes), and without a deadline the relay would wait for it forever. The price: a
        # broker that is only slow gets the batch twice, and the consumers drop the copies.
        self.overdue = None
        if self.in_flight:
            log.warning("%d event(s) unconfirmed after %ss: reconnecting to publish them again",
                        len(self.in_flight), CONFIRM_TIMEOUT_S)
            self._fail(AMQPConnectionError(f"no confirm within {CONFIRM_TIMEOUT_S}s"))

    def _returned(self, _channel, _method, properties, _body):
        # basic.return comes before the ack of the same message: remember it was not routed.
        self.returned.add(properties.message_id)

    def _confirmed(self, frame):
        answer = frame.method
        tags = ([tag for tag in self.in_flight if tag <= answer.delivery_tag] if answer.multiple
                else [answer.delivery_tag])
        for tag in tags:
            row = self.in_flight.pop(tag)
            if not isinstance(answer, pika.spec.Basic.Ack):
                self.relay.park(row, "was refused by the broker (nack)")
            elif row["message_id"] in self.returned:
                self.relay.park(row, "is unroutable")
            else:
                self.confirmed.append(row["id"])
        if not self.in_flight:
            self._batch_done()

    def _batch_done(self):
        if self.overdue is not None:
            self.connection.ioloop.remove_timeout(self.overdue)
            self.overdue = None
        ids, self.confirmed = self.confirmed, []
        self.returned.clear()
        try:
            if ids:
                faults.crash_point("relay.after_confirm")  # crash window: shared/runtime/faults.py
                # Trade-off 2: a row is marked sent only after the broker confirmed it. A crash
                # in between publishes it again: at-least-once, never lost, so consumers dedup.
                self.relay.mark_sent(ids)
        except Exception as exc:  # the rows stay unsent and go out again: at-least-once
            self._fail(exc)
            return
        self._schedule(0)
