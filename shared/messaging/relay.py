"""The outbox relay: publish committed events, and mark each sent only after the broker confirmed it.

Guarantee: at-least-once. If the relay dies after the broker confirmed a message but before
the row is marked sent, the message is published again on restart; consumers drop the
duplicate by its message id. What can never happen is an event that is marked sent but was
not stored by the broker.
"""
import logging
import threading
import time

from pika.exceptions import UnroutableError
from sqlalchemy import select, update

from shared import faults, tracing
from shared.db import transaction
from shared.heartbeat import beat, worker_name
from shared.messaging.connection import connect, run_forever
from shared.messaging.topology import EXCHANGE, declare_exchange, persistent
from shared.models.base import utcnow
from shared.models.plumbing import outbox

log = logging.getLogger(__name__)
BATCH = 200
IDLE_WAIT_S = 0.05
BEAT_EVERY_S = 2
PARK_S = 1.0


class OutboxRelay:
    """Publishes a service's outbox rows in the order they were written."""

    def __init__(self, session_factory, amqp_url):
        self.session_factory = session_factory
        self.amqp_url = amqp_url
        self.name = worker_name("relay")
        self.stopping = threading.Event()
        self._last_beat = 0.0
        self._parked = {}  # outbox id -> when to try an unroutable event again

    def stop(self):
        """Ask the relay to stop after its current batch (safe from another thread)."""
        self.stopping.set()

    def run(self):
        """Relay until stopped, reconnecting after broker restarts."""
        run_forever(self.name, self._run_connected, self.stopping.is_set)

    def _run_connected(self):
        connection = connect(self.amqp_url)
        try:
            channel = connection.channel()
            channel.confirm_delivery()  # every basic_publish now waits for the broker's ack
            declare_exchange(channel)
            while not self.stopping.is_set():
                self._beat()
                if self.publish_batch(channel) == 0:
                    connection.sleep(IDLE_WAIT_S)  # keeps heartbeats flowing while idle
        finally:
            if connection.is_open:
                connection.close()

    def publish_batch(self, channel):
        """Publish up to BATCH unsent rows; return how many were confirmed."""
        with transaction(self.session_factory) as session:
            rows = session.execute(select(outbox).where(outbox.c.sent_at.is_(None))
                                   .order_by(outbox.c.id).limit(BATCH)).mappings().all()
        confirmed = []
        try:
            for row in rows:
                if self._parked.get(row["id"], 0) > time.monotonic():
                    continue
                try:
                    with tracing.publish_span(row, EXCHANGE) as headers:  # tracing
                        channel.basic_publish(
                            EXCHANGE, row["routing_key"], row["body"], mandatory=True,
                            properties=persistent(row["routing_key"], row["message_id"], None,
                                                  headers))  # tracing: the trace travels on
                except UnroutableError:
                    # No queue is bound for this event (yet): keep it unsent and try again
                    # later, rather than dropping it or letting it block the events behind it.
                    log.warning("%s is unroutable; retrying in %ss", row["routing_key"], PARK_S)
                    self._parked[row["id"]] = time.monotonic() + PARK_S
                    continue
                confirmed.append(row["id"])
                self._parked.pop(row["id"], None)
        finally:
            if confirmed:
                faults.crash_point("relay.after_confirm")  # a test's crash window (shared/faults.py)
            # Trade-off 2: a row is marked sent only after the broker confirmed it. A crash in
            # between publishes it again: at-least-once, never lost, so consumers must dedup.
            self._mark_sent(confirmed)  # whatever the broker confirmed, even if we then failed
        return len(confirmed)

    def _mark_sent(self, ids):
        if ids:
            with transaction(self.session_factory) as session:
                session.execute(update(outbox).where(outbox.c.id.in_(ids))
                                .values(sent_at=utcnow()))

    def _beat(self):
        if time.monotonic() - self._last_beat >= BEAT_EVERY_S:
            beat(self.session_factory, self.name)
            self._last_beat = time.monotonic()
