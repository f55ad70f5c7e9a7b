"""The audit waits until nothing is on its way: no message in a consumer queue or its retry queue
(ready, or delivered and not acknowledged), no unsent outbox row. A duplicate still in flight
would otherwise land after the audit's snapshot; an unknown count is not taken for a zero."""
import threading

import pika
import pytest
from sqlalchemy import insert, update
from werkzeug.serving import make_server

from audit.quiet import UNKNOWN, stats_interval_s, wait_quiet, waiting_messages
from ops.queues import QueueWatch
from shared.http import orders_api
from shared.http.web import create_base_app
from shared.messaging.topology import declare_consumer_queue, retry_queue
from shared.models.base import utcnow
from shared.models.orders import metadata as orders_metadata
from shared.models.plumbing import outbox

QUEUE = "inventory.events"
# Long enough for the broker to sample its unacked counts at least once more.
UNACKED_SEEN_WITHIN_S = stats_interval_s() + 4


@pytest.fixture
def orders_service(database):
    """A real HTTP orders service (GET /orders, GET /outbox) on a fresh SQLite database;
    returns (urls, session factory)."""
    sessions = database(orders_metadata)
    app = create_base_app("orders", sessions)
    app.register_blueprint(orders_api.reading_routes())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"orders": f"http://127.0.0.1:{server.server_port}"}, sessions
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def empty_queue(channel):
    """The inventory consumer queue and its retry queue, declared and empty."""
    declare_consumer_queue(channel, QUEUE, ["order.placed"])
    for queue in (QUEUE, retry_queue(QUEUE)):
        channel.queue_purge(queue)
    yield QUEUE
    for queue in (QUEUE, retry_queue(QUEUE)):
        channel.queue_purge(queue)


@pytest.mark.broker
def test_a_message_waiting_in_a_retry_queue_keeps_the_variant_busy(channel, amqp_url,
                                                                   empty_queue):
    watch = QueueWatch(amqp_url)
    try:
        assert waiting_messages(watch) == {}
        channel.basic_publish("", retry_queue(QUEUE), b"{}",
                              pika.BasicProperties(expiration="60000"))
        assert waiting_messages(watch) == {retry_queue(QUEUE): 1}
    finally:
        watch.close()


@pytest.mark.broker
def test_a_message_a_consumer_holds_unacked_keeps_the_variant_busy_until_acked(
        channel, amqp_url, empty_queue, orders_service):
    urls, _ = orders_service
    channel.basic_publish("", QUEUE, b"{}")
    method, _, _ = channel.basic_get(QUEUE, auto_ack=False)  # delivered: in no ready count
    assert method is not None

    still = wait_quiet("choreo", urls, UNACKED_SEEN_WITHIN_S, amqp_url=amqp_url)
    assert still == [f"messages unacked: {{'{QUEUE}': 1}}"]
    channel.basic_ack(method.delivery_tag)
    assert wait_quiet("choreo", urls, 30, amqp_url=amqp_url) == []


@pytest.mark.broker
def test_an_unknown_unacked_count_is_not_taken_for_quiet(amqp_url, empty_queue, orders_service,
                                                        monkeypatch):
    monkeypatch.setenv("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:1/api/queues/%2F")
    urls, _ = orders_service
    still = wait_quiet("choreo", urls, 2, amqp_url=amqp_url)
    assert still == [UNKNOWN]


def test_an_unsent_outbox_row_keeps_the_variant_busy_until_sent(orders_service):
    urls, sessions = orders_service
    with sessions.begin() as session:
        session.execute(insert(outbox).values(message_id="saga-1", routing_key="saga.start",
                                              body="{}", created_at=utcnow()))
    assert wait_quiet("orch", urls, 2) == ["events not sent yet: {'orders': 1}"]
    with sessions.begin() as session:
        session.execute(update(outbox).values(sent_at=utcnow()))
    assert wait_quiet("orch", urls, 10) == []
