"""The idempotent consumer: apply each event once, ack only after commit, retry, then dead-letter.

For every delivery:
1. Parse the envelope and check its contract. A message that can never succeed (poison) goes
   to the dead-letter queue with the reason in its headers, and the consumer goes on.
2. In ONE database transaction: record the message id as processed and apply the handler's
   effect (which may add events to the outbox). A message id seen before makes it a no-op:
   delivery is at-least-once, so duplicates and redeliveries are normal, not errors.
3. Ack only after that commit. A crash before the ack means redelivery, which step 2 absorbs.
   Under load, the deliveries that arrived together (up to the prefetch) share ONE transaction
   and ONE multiple-ack; if any of them fails, the batch is rolled back and each message of it
   is applied in a transaction of its own, so only the failing one is retried.
4. A transient failure (database busy, injected fault) is retried after a delay through the
   queue's retry queue; after MAX_ATTEMPTS it is dead-lettered with the last error.
"""
import logging
import time

from pika.exceptions import ConsumerCancelled

from shared import tracing
from shared.messaging import contracts
from shared.messaging import topology
from shared.messaging.connection import connect, run_forever
from shared.messaging.envelope import MalformedMessage, parse
from shared.models.base import utcnow
from shared.models.plumbing import processed_messages
from shared.runtime import config, faults
from shared.runtime.db import insert_if_absent, transaction
from shared.runtime.heartbeat import Pulse, worker_name
from shared.runtime.logs import set_correlation_id

log = logging.getLogger(__name__)
BEAT_EVERY_S = 2


def queue_pulse(session_factory, queue):
    """Return the heartbeat of a queue's consumers in this process: the role /health asks for
    (`consumer:<queue>`), written at most every BEAT_EVERY_S whatever the number of consumers."""
    return Pulse(session_factory, worker_name(f"consumer:{queue}"), BEAT_EVERY_S)


class PermanentError(Exception):
    """A handler's verdict that this message can never succeed: dead-letter it at once."""


class Delivery:
    """One message as the broker handed it over, waiting in the consumer's current batch."""

    def __init__(self, method, properties, body):
        self.method, self.properties, self.body = method, properties, body
        self.attempts = (properties.headers or {}).get(topology.ATTEMPTS_HEADER, 0) + 1
        self.span = None  # tracing: this delivery's span, a child of the publish that caused it


class Consumer:
    """Consumes one queue and hands each event type to its handler (one thread, one connection)."""

    def __init__(self, service, queue, handlers, session_factory, amqp_url, number=0,
                 prefetch=None, dedup=True, traced=True, pulse=None, exchange=topology.EXCHANGE,
                 bindings=None):
        self.service, self.queue, self.handlers = service, queue, handlers
        # The queue is bound on `exchange` to `bindings` (default: the event types it handles);
        # the orchestrated variant's commands and replies travel on an exchange of their own.
        self.exchange, self.bindings = exchange, bindings or tuple(handlers)
        self.dedup = dedup  # False: the handlers are idempotent by themselves (see apply_in)
        self.traced = traced  # False: its deliveries make no spans (the tracker, Trade-off 52)
        self.prefetch = prefetch or config.prefetch_count()
        self.session_factory, self.amqp_url = session_factory, amqp_url
        self.name = worker_name(f"consumer:{queue}") + (f"#{number}" if number else "")
        # The heartbeat row of this queue's consumers in this process (shared by the worker,
        # Trade-off 72 in orders-choreo/service_worker.py); one of its own when built alone.
        self.pulse = pulse or queue_pulse(session_factory, queue)
        self.connection = self.channel = None
        self.stopping = False
        self.batch = []

    def run(self):
        """Consume until the process stops, reconnecting after broker restarts."""
        run_forever(self.name, self._run_connected, lambda: self.stopping)

    def _run_connected(self):
        self.connection = connect(self.amqp_url)
        self.batch = []  # unacked deliveries of a closed connection come back by themselves
        try:
            self.channel = self.connection.channel()
            self.channel.confirm_delivery()  # retries and dead letters must not be lost either
            topology.declare_consumer_queue(self.channel, self.queue, self.bindings,
                                            self.exchange)
            # Trade-off 5: prefetch bounds the unacked messages in flight on this consumer. One
            # at a time would idle the consumer during every network round trip; a large
            # window piles redeliveries onto one consumer when it dies. See PREFETCH_COUNT
            # (and the tracker's own, larger window in orders-choreo/orders/subscriptions.py).
            self.channel.basic_qos(prefetch_count=self.prefetch)
            self.channel.basic_consume(self.queue, self._collect)
            self.channel.add_on_cancel_callback(self._cancelled)
            self._beat()
            while not self.stopping:
                # Wait (at most a second, to notice stop()) for deliveries; every one that
                # has arrived by then lands in self.batch through _collect.
                self.connection.process_data_events(time_limit=1)
                if self.batch:
                    # A delivery that arrives while this batch is handled starts the next one:
                    # it is neither applied with this batch nor acked by its multiple-ack.
                    batch, self.batch = self.batch, []
                    self.handle(batch)
        finally:
            if self.connection.is_open:
                self.connection.close()

    def stop(self):
        """Stop consuming (safe to call from another thread): run() returns once the batch in
        hand is applied and acked, at once when there is none."""
        self.stopping = True
        connection = self.connection
        try:  # wake process_data_events() now rather than at the end of its second
            connection.add_callback_threadsafe(lambda: None)
        except Exception:  # no connection, or it is closing: the loop notices within a second
            pass

    def _cancelled(self, _frame):
        """The broker ended this consumer (its queue was deleted, or moved off a node that
        went): raise, so that run_forever() connects and consumes again."""
        raise ConsumerCancelled(f"the broker cancelled the consumer of {self.queue}")

    def _beat(self):
        if self.stopping:
            return
        self.pulse.beat()
        self.connection.call_later(BEAT_EVERY_S, self._beat)

    def _collect(self, _channel, method, properties, body):
        delivery = Delivery(method, properties, body)
        if self.traced:
            delivery.span = tracing.delivery_started(self.queue, method, properties,
                                                     delivery.attempts)  # tracing
        self.batch.append(delivery)

    def handle(self, deliveries):
        """Apply a batch of deliveries, then ack them all at once: every delivery is acked
        exactly once, after its effect committed or its retry or dead-letter copy was confirmed."""
        ready = [(d, *found) for d in deliveries if (found := self._checked(d))]
        try:
            # Trade-off 18: one transaction and one ack for the messages that arrived together:
            # per message, the commit and the ack are most of the cost. The price: one failing
            # message rolls back its batch, which is then applied again one message at a time.
            with transaction(self.session_factory) as session:
                for delivery, envelope, handler in ready:
                    with tracing.within(delivery.span):  # tracing
                        self.apply_in(session, envelope, handler)
        except Exception as exc:
            if len(ready) == 1:
                self._failed(ready[0][0], exc)
            else:
                log.info("a batch of %d failed (%s); applying its messages one by one",
                         len(ready), str(exc).splitlines()[0][:200])
                for delivery, envelope, handler in ready:
                    self._apply_alone(delivery, envelope, handler)
        finally:
            set_correlation_id(None)
        faults.crash_point("consumer.before_ack")  # a test's crash window: shared/runtime/faults.py
        # Trade-off 4: ack only now, after the commit (or after the retry or dead-letter copy
        # was confirmed). A crash before this line means a redelivery, which Trade-off 3 absorbs;
        # acking first would turn that crash into a lost event.
        self.channel.basic_ack(deliveries[-1].method.delivery_tag, multiple=True)
        tracing.deliveries_ended(deliveries)  # tracing

    def _checked(self, delivery):
        """Return (envelope, handler) of a delivery ready to apply, or None once it was sent
        to the dead letters (poison) or the retry queue (an injected fault)."""
        try:
            envelope = parse(delivery.body)
            specific = self.handlers.get(envelope.type)
            handler = specific or self.handlers.get("#")
            if handler is None:
                raise PermanentError(f"{self.queue} has no handler for {envelope.type}")
            if specific or envelope.type in contracts.CONTRACTS:  # a catch-all (the tracker)
                contracts.check(envelope)                      # also takes unknown types
            faults.inject(self.service, sleep=self.connection.sleep)
            return envelope, handler
        except Exception as exc:
            self._failed(delivery, exc)
            return None

    def _apply_alone(self, delivery, envelope, handler):
        try:
            set_correlation_id(envelope.correlation_id)
            with tracing.within(delivery.span), transaction(self.session_factory) as session:
                self.apply_in(session, envelope, handler)
        except Exception as exc:
            self._failed(delivery, exc)

    def _failed(self, delivery, exc):
        """Dead-letter a poison message at once; send a failed one to retry, or at the end of
        its attempts to the dead letters with the last error."""
        # exercise: dead-letters begin
        if isinstance(exc, (MalformedMessage, contracts.ContractViolation, PermanentError)):
            self._dead_letter(delivery, f"poison: {exc}")
            return
        # exercise: dead-letters end
        # transient: database busy, injected fault, a bug to fix
        log.warning("attempt %d of %s failed: %r", delivery.attempts,
                    delivery.method.routing_key, exc)
        if delivery.attempts >= config.max_attempts():
            self._dead_letter(delivery, f"failed {delivery.attempts} times: {exc!r}")
        else:
            tracing.mark_failed(f"attempt {delivery.attempts} failed, sent to the retry queue: "
                                f"{exc!r}", delivery.span)  # tracing
            self.retry_later(delivery.body, delivery.properties, delivery.attempts)

    def _dead_letter(self, delivery, reason):
        tracing.mark_failed(f"dead-lettered: {reason}", delivery.span)  # tracing; headers keep it
        self.dead_letter(delivery.body, delivery.properties, delivery.attempts, reason)

    def apply(self, envelope, handler):
        """Apply one message's effect in a transaction of its own (faults injected first)."""
        faults.inject(self.service, sleep=self.connection.sleep)
        with transaction(self.session_factory) as session:
            self.apply_in(session, envelope, handler)

    def apply_in(self, session, envelope, handler):
        """Apply the handler's effect and record the message id, in the given transaction."""
        set_correlation_id(envelope.correlation_id)
        # Trade-off 3: the message id is recorded in the same transaction as the effect, so a
        # redelivery is a no-op. Every consumer pays a write per message for it, except one
        # whose handlers are idempotent by themselves (dedup=False, Trade-off 51).
        if self.dedup and not self.first_delivery(session, envelope.message_id):
            # Trade-off 67: every dropped copy leaves a line, the dedup's one observable (the
            # crash-window tests count them; without it, a copy also absorbed by a handler's own
            # once-per-order insert proves nothing). The cost: a line per duplicate, so a crash
            # storm writes one per redelivered message.
            log.info("duplicate %s %s dropped by %s", envelope.type, envelope.message_id,
                     self.queue)
            return
        with tracing.span_for_handler(self.service, envelope):  # tracing
            handler(session, envelope)

    def first_delivery(self, session, message_id):
        """Record the message id; return False if this consumer has processed it before."""
        if config.teaching_switch("TEACH_DISABLE_DEDUP"):
            return True
        # exercise: idempotent-consumer begin
        # One INSERT ... ON CONFLICT DO NOTHING: of two deliveries of one message processed at
        # once (a redelivery racing a slow first try), exactly one inserts and applies it.
        return insert_if_absent(session, processed_messages, {
            "consumer": self.queue, "message_id": message_id, "processed_at": utcnow()},
            "consumer", "message_id")
        # exercise: idempotent-consumer end

    def retry_later(self, body, properties, attempts):
        """Park the message in the retry queue; the broker sends it back after the delay."""
        # Trade-off 6: a failed message waits out RETRY_DELAY_MS in its own retry queue instead
        # of being requeued at once (a hot loop) or blocking the messages behind it; after
        # MAX_ATTEMPTS it goes to the dead letters for a person. Order across retries is lost.
        headers = dict(properties.headers or {}, **{topology.ATTEMPTS_HEADER: attempts})
        self._republish(topology.retry_queue(self.queue), body, properties, headers,
                        expiration=str(config.retry_delay_ms()))
        faults.crash_point("consumer.after_retry")  # a test's crash window: copy out, no ack

    def dead_letter(self, body, properties, attempts, reason):
        """Move the message to the dead-letter queue with the reason in its headers."""
        log.error("dead-lettering a message from %s: %s", self.queue, reason)
        headers = dict(properties.headers or {}, **{
            topology.ATTEMPTS_HEADER: attempts, topology.REASON_HEADER: reason[:1000],
            topology.ORIGIN_HEADER: self.queue, "x-dead-at": int(time.time())})
        # Trade-off 68: the dead letters are at-least-once, like every other queue: a crash
        # after this publish and before the ack leaves the copy AND redelivers the original,
        # once per crash. Nothing dedups the dead-letter queue itself; a replay is safe because
        # the consumer drops the copies by message id (Trade-off 3). The cost: an operator may
        # list one message several times.
        self._republish(topology.DEAD_LETTER_QUEUE, body, properties, headers)
        faults.crash_point("consumer.after_dead_letter")  # a test's crash window: no ack yet

    def _republish(self, queue, body, properties, headers, expiration=None):
        props = topology.persistent(properties.type, properties.message_id,
                                    properties.correlation_id, headers)
        props.expiration = expiration
        self.channel.basic_publish("", queue, body, properties=props)
