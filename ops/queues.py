"""The variants' queues, read from outside: depths (passive declare) and purge.

The names are the variants' own, repeated here so that no tool imports a variant's tree: the
`QUEUE` constants of orders-choreo/*/subscriptions.py, each with its retry queue, and the shared
dead-letter queue; and the orchestrated commands' and replies' queues over AMQP, named by
orders-orch/commands/amqp.py (tests/unit/test_topology.py checks both lists against the code).
A queue that does not exist yet counts as empty.
"""
import pika

from shared.messaging.connection import connect
from shared.runtime import config

CONSUMER_QUEUES = ("inventory.events", "payments.events", "shipping.events",
                   "notifications.events", "orders.outcomes", "orders.tracker")
QUEUES = CONSUMER_QUEUES + tuple(f"{q}.retry" for q in CONSUMER_QUEUES) + ("dead-letters",)


COMMANDS_EXCHANGE = "orders.commands"  # the orchestrated commands and replies, nothing else


def command_queues(replicas=1):
    """Return the orchestrated variant's queues over AMQP: each service's commands, and each
    orchestrator replica's replies."""
    return (tuple(f"{service}.commands" for service in config.SERVICES)
            + tuple(f"orchestrator-{n}.replies" for n in range(replicas)))


class QueueWatch:
    """A broker connection of its own that reads queue depths (one thread only, as pika asks);
    of the choreographed queues unless told others (`queues`: the orchestrated commands')."""

    def __init__(self, amqp_url, queues=QUEUES):
        self.amqp_url, self.connection, self.queues = amqp_url, None, tuple(queues)

    def depths(self):
        """Return {queue: messages ready} for every known queue (None when the broker is away)."""
        return {name: self._depth(name) for name in self.queues}

    def _depth(self, name):
        try:
            channel = self._channel()
            try:
                # message_count counts ready messages only; unacked ones sit with the consumer.
                return channel.queue_declare(name, passive=True).method.message_count
            finally:
                if channel.is_open:
                    channel.close()
        except pika.exceptions.ChannelClosedByBroker:  # 404: not declared yet
            return 0
        except pika.exceptions.AMQPError:
            self.connection = None
            return None

    def purge(self):
        """Empty every known queue (before a run, so no run sees another's leftovers)."""
        for name in self.queues:
            try:
                channel = self._channel()
                channel.queue_purge(name)
                channel.close()
            except pika.exceptions.ChannelClosedByBroker:
                pass

    def _channel(self):
        if self.connection is None or self.connection.is_closed:
            self.connection = connect(self.amqp_url)  # any live node of a cluster
        return self.connection.channel()

    def close(self):
        """Close the connection."""
        if self.connection is not None and self.connection.is_open:
            self.connection.close()
