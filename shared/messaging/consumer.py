"""The idempotent consumer: apply each event once, ack only after commit, retry, then dead-letter.

For every delivery:
1. Parse the envelope and check its contract. A message that can never succeed (poison) goes
   to the dead-letter queue with the reason in its headers, and the consumer goes on.
2. In ONE database transaction: record the message id as processed and apply the handler's
   effect (which may add events to the outbox). A message id seen before makes it a no-op:
   delivery is at-least-once, so duplicates and redeliveries are normal, not errors.
3. Ack only after that commit. A crash before the ack means redelivery, which step 2 absorbs.
4. A transient failure (database busy, injected fault) is retried after a delay through the
   queue's retry queue; after MAX_ATTEMPTS it is dead-lettered with the last error.
"""
import logging
import time

from shared import config, contracts, faults
from shared.db import insert_if_absent, transaction
from shared.envelope import MalformedMessage, parse
from shared.heartbeat import beat, worker_name
from shared.logs import set_correlation_id
from shared.messaging import topology
from shared.messaging.connection import connect, run_forever
from shared.models.base import utcnow
from shared.models.plumbing import processed_messages

log = logging.getLogger(__name__)
BEAT_EVERY_S = 2


class PermanentError(Exception):
    """A handler's verdict that this message can never succeed: dead-letter it at once."""


class Consumer:
    """Consumes one queue and hands each event type to its handler."""

    def __init__(self, service, queue, handlers, session_factory, amqp_url):
        self.service, self.queue, self.handlers = service, queue, handlers
        self.session_factory, self.amqp_url = session_factory, amqp_url
        self.name = worker_name(f"consumer:{queue}")
        self.connection = self.channel = None
        self.stopping = False

    def run(self):
        """Consume until the process stops, reconnecting after broker restarts."""
        run_forever(self.name, self._run_connected, lambda: self.stopping)

    def _run_connected(self):
        self.connection = connect(self.amqp_url)
        try:
            self.channel = self.connection.channel()
            self.channel.confirm_delivery()  # retries and dead letters must not be lost either
            topology.declare_consumer_queue(self.channel, self.queue, self.handlers)
            # Trade-off 5: prefetch bounds the unacked messages in flight on this consumer. One
            # at a time would idle the consumer during every network round trip; a large
            # window piles redeliveries onto one consumer when it dies. See PREFETCH_COUNT.
            self.channel.basic_qos(prefetch_count=config.prefetch_count())
            self.channel.basic_consume(self.queue, self.on_message)
            self._beat()
            if not self.stopping:
                self.channel.start_consuming()
        finally:
            if self.connection.is_open:
                self.connection.close()

    def stop(self):
        """Stop consuming (safe to call from another thread); run() then returns."""
        self.stopping = True
        if self.connection is not None and self.connection.is_open:
            self.connection.add_callback_threadsafe(self.channel.stop_consuming)

    def _beat(self):
        if self.stopping:
            return
        beat(self.session_factory, self.name)
        self.connection.call_later(BEAT_EVERY_S, self._beat)

    def on_message(self, channel, method, properties, body):
        """Handle one delivery, then ack it: every path below ends in exactly one ack."""
        attempts = (properties.headers or {}).get(topology.ATTEMPTS_HEADER, 0) + 1
        try:
            envelope = parse(body)
            specific = self.handlers.get(envelope.type)
            handler = specific or self.handlers.get("#")
            if handler is None:
                raise PermanentError(f"{self.queue} has no handler for {envelope.type}")
            if specific or envelope.type in contracts.CONTRACTS:  # a catch-all (the tracker)
                contracts.check(envelope)                      # also takes unknown types
            set_correlation_id(envelope.correlation_id)
            self.apply(envelope, handler)
        except (MalformedMessage, contracts.ContractViolation, PermanentError) as exc:
            self.dead_letter(body, properties, attempts, f"poison: {exc}")
        except Exception as exc:  # transient: database busy, injected fault, a bug to fix
            log.warning("attempt %d of %s failed: %r", attempts, method.routing_key, exc)
            if attempts >= config.max_attempts():
                self.dead_letter(body, properties, attempts, f"failed {attempts} times: {exc!r}")
            else:
                self.retry_later(body, properties, attempts)
        finally:
            set_correlation_id(None)
        faults.crash_point("consumer.before_ack")  # a test's crash window (shared/faults.py)
        # Trade-off 4: ack only now, after the commit (or after the retry or dead-letter copy
        # was confirmed). A crash before this line means a redelivery, which Trade-off 3 absorbs;
        # acking first would turn that crash into a lost event.
        channel.basic_ack(method.delivery_tag)

    def apply(self, envelope, handler):
        """Apply the handler's effect and record the message id, in one transaction."""
        faults.inject(self.service, sleep=self.connection.sleep)
        # Trade-off 3: the message id is recorded in the same transaction as the effect, so a
        # redelivery is a no-op. Every consumer pays a write per message for it.
        with transaction(self.session_factory) as session:
            if not self.first_delivery(session, envelope.message_id):
                log.info("duplicate %s %s ignored", envelope.type, envelope.message_id)
                return
            handler(session, envelope)

    def first_delivery(self, session, message_id):
        """Record the message id; return False if this consumer has processed it before."""
        if config.teaching_switch("TEACH_DISABLE_DEDUP"):
            return True
        # One INSERT ... ON CONFLICT DO NOTHING: of two deliveries of one message processed at
        # once (a redelivery racing a slow first try), exactly one inserts and applies it.
        return insert_if_absent(session, processed_messages, {
            "consumer": self.queue, "message_id": message_id, "processed_at": utcnow()},
            "consumer", "message_id")

    def retry_later(self, body, properties, attempts):
        """Park the message in the retry queue; the broker sends it back after the delay."""
        # Trade-off 6: a failed message waits out RETRY_DELAY_MS in its own retry queue instead
        # of being requeued at once (a hot loop) or blocking the messages behind it; after
        # MAX_ATTEMPTS it goes to the dead letters for a person. Order across retries is lost.
        headers = dict(properties.headers or {}, **{topology.ATTEMPTS_HEADER: attempts})
        self._republish(topology.retry_queue(self.queue), body, properties, headers,
                        expiration=str(config.retry_delay_ms()))

    def dead_letter(self, body, properties, attempts, reason):
        """Move the message to the dead-letter queue with the reason in its headers."""
        log.error("dead-lettering a message from %s: %s", self.queue, reason)
        headers = dict(properties.headers or {}, **{
            topology.ATTEMPTS_HEADER: attempts, topology.REASON_HEADER: reason[:1000],
            topology.ORIGIN_HEADER: self.queue, "x-dead-at": int(time.time())})
        self._republish(topology.DEAD_LETTER_QUEUE, body, properties, headers)

    def _republish(self, queue, body, properties, headers, expiration=None):
        props = topology.persistent(properties.type, properties.message_id,
                                    properties.correlation_id, headers)
        props.expiration = expiration
        self.channel.basic_publish("", queue, body, properties=props)
