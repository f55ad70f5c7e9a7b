"""Reliable messaging over RabbitMQ, written by hand as the lesson.

The choreographed services publish and consume every event through it; the orchestrated
variant sends its commands and replies through the same parts when ORCH_TRANSPORT=amqp
(orders-orch/commands/amqp.py), which is why it is shared.
- envelope.py and contracts.py: the message every event travels in, and what each event promises;
- topology.py: the exchange and the queue layout every service uses (retry and dead letters);
- outbox.py and relay.py: the transactional outbox and the relay that publishes it;
- consumer.py and connection.py: the idempotent consumer with retries and dead-lettering.
Listing and replaying dead letters is an operator's tool: ops/deadletters.py.
"""
