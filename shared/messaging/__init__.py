"""Reliable messaging over RabbitMQ for the choreographed variant, written by hand as the lesson.

- topology.py: the exchange and the queue layout every service uses (retry and dead letters).
- outbox.py and relay.py: the transactional outbox and the relay that publishes it.
- consumer.py: the idempotent consumer with retries and dead-lettering.
"""
