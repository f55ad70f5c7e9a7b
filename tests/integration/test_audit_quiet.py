"""The audit waits for every queue to be empty, retry queues included: a message waiting out
its retry delay is work not done yet, and the audit must not run before it lands."""
import pika
import pytest

from audit.quiet import waiting_messages
from ops.queues import QueueWatch
from shared.messaging.topology import declare_consumer_queue, retry_queue

QUEUE = "inventory.events"


@pytest.mark.broker
def test_a_message_waiting_in_a_retry_queue_keeps_the_variant_busy(channel, amqp_url):
    declare_consumer_queue(channel, QUEUE, ["order.placed"])
    channel.queue_purge(QUEUE)
    channel.queue_purge(retry_queue(QUEUE))
    watch = QueueWatch(amqp_url)
    try:
        assert waiting_messages(watch) == {}
        channel.basic_publish("", retry_queue(QUEUE), b"{}",
                              pika.BasicProperties(expiration="60000"))
        assert waiting_messages(watch) == {retry_queue(QUEUE): 1}
    finally:
        channel.queue_purge(retry_queue(QUEUE))
        watch.close()
