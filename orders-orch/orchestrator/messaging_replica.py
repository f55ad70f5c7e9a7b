"""A replica that drives its sagas by commands and replies (ORCH_TRANSPORT=amqp).

The same replica as replica.py (shards, leases, archival, the in-flight bound), with three
differences:
- a saga is not driven by a thread: POST /sagas sends its first command (one fenced write)
  and the request thread waits on a Future that the reply consumer completes once the saga
  is final (or left for recovery); the in-flight bound counts these sagas, from their first
  command until then;
- the recovery loop sends again the command of a saga whose reply did not come in time;
- the replica runs a consumer of its own reply queue and the relay of its commands.
"""
import logging

from shared.messaging.consumer import Consumer, queue_pulse
from shared.messaging.relay import OutboxRelay
from shared.models.plumbing import outbox
from shared.runtime import config
from commands import amqp, background
from orchestrator import store
from orchestrator.messaging_driver import MessagingDriver
from orchestrator.replica import Replica
from orchestrator.shards import LeaseLost, shard_of
from orchestrator.steps import FINAL

log = logging.getLogger(__name__)
# Each applies its deliveries in one transaction per batch (shared/messaging/consumer.py):
# a reply is a short write, so a few keep up with the replicas' in-flight sagas.
REPLY_CONSUMERS = 4


class MessagingReplica(Replica):
    """One orchestrator replica whose steps are messages; see the module docstring."""

    def __init__(self, session_factory, number, url):
        super().__init__(session_factory, number, url)
        self.messages = MessagingDriver(session_factory, self.leases, self.role,
                                        settled=self._settled)

    def _launch(self, saga_id, future):
        """Send the saga's first command in the caller's thread; the reply consumer goes on."""
        # Trade-off 81: a saga holds its in-flight slot from its first command until its reply
        # consumer settles it (final, left for recovery, or lost to another replica), whether
        # or not a request still waits: the bound still limits the work this replica has
        # under way, not just its waiting threads. The price: a saga whose replies are slow
        # keeps its slot after its request answered 202, and sagas resumed by the recovery
        # loop hold none (as over HTTP, they are already accepted).
        try:
            saga = self.messages.send(saga_id)
        except Exception as exc:  # LeaseLost (moved since the last tick) or a database error
            self._settled(saga_id, None, exc)
            return
        if saga is None or saga["state"] in FINAL:
            self._settled(saga_id, saga)

    def _settled(self, saga_id, saga, exc=None):
        """Complete the Future of a saga this replica drives (final, waiting, or lost)."""
        with self.lock:
            future = self.active.pop(saga_id, None)
        if future is None or future.done():
            return
        if saga is None:
            future.set_exception(exc or LeaseLost(f"saga {saga_id}: driven elsewhere now"))
        else:
            future.set_result(saga)

    def recover_once(self):
        """Send again the commands of due sagas of the owned shards; return how many."""
        self._forget_unowned()
        sent = 0
        for saga_id in store.due(self.session_factory, self.leases.owned, self.max_in_flight):
            try:
                sent += self.messages.resend_due(saga_id)
            except LeaseLost as exc:
                log.info("recovery: %s", exc)
        if sent:
            log.info("recovery: sent %d command(s) again", sent)
        return sent

    def _forget_unowned(self):
        """Let go of the sagas of shards this replica lost: their replies go to the new owner."""
        with self.lock:
            lost = [s for s in self.active
                    if not self.leases.owns(shard_of(s, self.leases.shards))]
        for saga_id in lost:
            self._settled(saga_id, None)

    def health_roles(self):
        """Return the heartbeats of this replica's reply consumers and command relay."""
        return (f"consumer:{amqp.reply_queue(self.role)}", "relay")

    def start_loops(self):
        """Start the replica's loops, its reply consumers and its command relay."""
        super().start_loops()
        amqp_url, queue = config.amqp_url(), amqp.reply_queue(self.role)
        handlers = {amqp.REPLY: self.messages.on_reply}
        # Trade-off 80: replies come back to the replica that sent the command (its own
        # queue, named after its replica number), so the reply meets the lease it was sent
        # under and the request waiting for the saga in the same process. The price: after a
        # takeover the old queue's replies are refused, and the new owner waits its reply
        # timeout before it sends the command again to get the stored answer.
        pulse = queue_pulse(self.session_factory, queue)  # one row for all (Trade-off 72)
        runnables = [Consumer("orchestrator", queue, handlers, self.session_factory, amqp_url,
                              number, dedup=False, pulse=pulse, exchange=amqp.EXCHANGE,
                              bindings=(amqp.reply_key(self.role),))
                     for number in range(REPLY_CONSUMERS)]
        runnables.append(OutboxRelay(self.session_factory, amqp_url, exchange=amqp.EXCHANGE,
                                     only=outbox.c.owner == self.role))
        background.start(runnables)  # and stopped at exit, before the interpreter is torn down
