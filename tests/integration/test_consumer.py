"""The idempotent consumer against a real broker: duplicates, poison, retries, dead letters."""
import logging

import pika
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from shared.domain import orders
from shared.messaging.envelope import Envelope, caused_by
from shared.runtime.db import transaction
from ops import deadletters
from shared.http.validation import PlaceOrder
from shared.messaging import topology
from shared.messaging.consumer import Consumer
from shared.models import orders as orders_models
from shared.models.orders import metadata as orders_metadata, timeline
from shared.models.payments import metadata as payments_metadata, payments
from shared.models.plumbing import outbox, processed_messages
from tests.support import ADDRESS, choreo_modules, wait_for

effects_metadata = MetaData()
effects = Table("effects", effects_metadata,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("order_id", String(40), nullable=False))


def _order_event(order_id, card="tok_visa", **drop):
    data = {"order_id": order_id, "customer_id": "cust", "items": [{"sku": "MUG-RED",
            "quantity": 1, "unit_price_cents": 1250}], "total_cents": 1250, "currency": "EUR",
            "card_token": card, "shipping_address": {"country": "DE"}}
    for name in drop:
        data.pop(name)
    return Envelope(type="stock.reserved", version=1, source="test", correlation_id=order_id,
                    data=data)


def _publish(channel, queue, body, message_id=None):
    channel.basic_publish("", queue, body if isinstance(body, bytes) else body.encode(),
                          properties=pika.BasicProperties(delivery_mode=2,
                                                          message_id=message_id))


def _deliver_thrice_then_a_sentinel(channel, queue, event, sentinel):
    """Publish `event` three times (one message id: a redelivery), then another event."""
    for _ in range(3):
        _publish(channel, queue, event.to_json(), event.message_id)
    _publish(channel, queue, sentinel.to_json())


def _subscribed(consumer, in_thread):
    """Run the consumer in a thread; return it once it consumes."""
    in_thread(consumer)
    wait_for(lambda: consumer.channel is not None and consumer.channel.is_open,
             message="the consumer to subscribe")
    return consumer


def _count(sessions, query):
    with sessions() as session:
        return session.scalar(query)


@pytest.fixture
def dead_letters(channel):
    """Empty the shared dead-letter queue before the test; return a reader for it."""
    channel.queue_declare(topology.DEAD_LETTER_QUEUE, durable=True)
    channel.queue_purge(topology.DEAD_LETTER_QUEUE)

    def read():
        found = []
        while (message := channel.basic_get(topology.DEAD_LETTER_QUEUE, auto_ack=True))[0]:
            found.append((message[1].headers, message[2]))
        return found
    return read


@pytest.fixture
def payments_consumer(database, amqp_url, queue_name, in_thread):
    """The real payments handlers consuming a test queue; returns its session factory."""
    sessions = database(payments_metadata)
    with choreo_modules("payments.subscriptions") as (subscriptions,):
        consumer = Consumer("payments", queue_name, subscriptions.HANDLERS, sessions, amqp_url)
    _subscribed(consumer, in_thread)
    return sessions


def test_a_duplicated_delivery_changes_nothing(payments_consumer, channel, queue_name, caplog):
    caplog.set_level(logging.INFO, logger="shared.messaging.consumer")
    duplicate = _order_event("order-dup")
    _deliver_thrice_then_a_sentinel(channel, queue_name, duplicate, _order_event("order-sentinel"))

    wait_for(lambda: _count(payments_consumer, select(func.count()).select_from(payments)) == 2,
             message="both orders charged")
    wait_for(lambda: _count(payments_consumer, select(func.count()).select_from(outbox)) >= 2,
             message="the events")
    charged = _count(payments_consumer, select(func.count()).where(
        payments.c.order_id == "order-dup"))
    published = _count(payments_consumer, select(func.count()).where(
        outbox.c.body.contains("order-dup")))
    assert (charged, published) == (1, 1)
    # payments' own once-per-order insert would absorb the copies too: what shows that the
    # message-id check (Trade-off 3) dropped them is its line, once per copy.
    assert caplog.text.count(f"{duplicate.message_id} dropped by {queue_name}") == 2


def test_the_tracker_records_a_redelivered_event_once_without_a_dedup_row(
        database, amqp_url, channel, queue_name, in_thread):
    sessions = database(orders_metadata)
    with choreo_modules("orders.subscriptions") as (subscriptions,):
        consumer = Consumer("orders", queue_name, subscriptions.TRACKER_HANDLERS, sessions,
                            amqp_url, dedup=subscriptions.TRACKER_QUEUE not in
                            subscriptions.OWN_DEDUP)
    _subscribed(consumer, in_thread)
    _deliver_thrice_then_a_sentinel(channel, queue_name, _committed("order-seen-thrice"),
                                    _committed("order-sentinel"))

    wait_for(lambda: _count(sessions, select(func.count()).select_from(timeline)) == 2,
             message="both orders' events in the timeline")
    rows = _count(sessions, select(func.count()).where(
        timeline.c.order_id == "order-seen-thrice"))
    recorded_ids = _count(sessions, select(func.count()).select_from(processed_messages))
    assert (rows, recorded_ids) == (1, 0)  # once, and by its own key (Trade-off 51)


# The events that lead to each final status after order.placed, each caused by the one before.
SAGAS = {"COMPLETED": [("stock.reserved", "inventory"), ("payment.captured", "payments"),
                       ("shipment.booked", "shipping"), ("stock.committed", "inventory")],
         "CANCELLED": [("stock.reserved", "inventory"), ("payment.declined", "payments"),
                       ("stock.released", "inventory")]}


@pytest.mark.parametrize("status", SAGAS)
def test_a_final_order_s_timeline_holds_its_whole_saga_though_no_tracker_heard_it(
        status, database, amqp_url, channel, queue_name, in_thread):
    sessions = database(orders_metadata)
    with transaction(sessions) as session:
        order, _ = orders.place(session, PlaceOrder("cust", [{"sku": "MUG-RED", "quantity": 1}],
                                                    "tok_visa", ADDRESS), "saga-9")
        data = {**orders.saga_facts(orders.get_record(session, order["order_id"])),
                "payment_id": "pay-1", "shipment_id": "ship-1", "reason": "payment_declined"}
    event = Envelope(type="order.placed", version=1, source="orders", correlation_id="saga-9",
                     data=data)
    for event_type, source in SAGAS[status]:
        event = caused_by(event, event_type, 1, source, data)
    with choreo_modules("orders.subscriptions") as (subscriptions,):
        consumer = Consumer("orders", queue_name, subscriptions.HANDLERS, sessions, amqp_url)
    _subscribed(consumer, in_thread)
    _publish(channel, queue_name, event.to_json())  # only the settling event, and no tracker

    wait_for(lambda: _count(sessions, select(func.count()).where(
        orders_models.orders.c.status == status)) == 1, message=f"the order {status}")
    with sessions() as session:
        steps = session.execute(select(timeline.c.name, timeline.c.correlation_id)
                                .order_by(timeline.c.at, timeline.c.id)).all()
    assert steps == [(name, "saga-9") for name in ("order.placed", *dict(SAGAS[status]),
                                                   f"order.{status.lower()}")]


def test_poison_messages_are_dead_lettered_with_a_reason_and_the_consumer_goes_on(
        payments_consumer, channel, queue_name, dead_letters):
    _publish(channel, queue_name, b"\x00 this is not JSON")
    _publish(channel, queue_name, _order_event("order-bad", total_cents=None).to_json())
    unknown = Envelope(type="fraud.suspected", version=1, source="test", correlation_id="x",
                       data={"order_id": "o"})
    _publish(channel, queue_name, unknown.to_json())
    _publish(channel, queue_name, _order_event("order-good").to_json())

    wait_for(lambda: _count(payments_consumer, select(func.count()).where(
        payments.c.order_id == "order-good")) == 1, message="the good order after the poison")
    letters = wait_for(lambda: (found := dead_letters()) and len(found) >= 3 and found,
                       timeout=20, message="three dead letters")  # poison goes at once
    reasons = [headers[topology.REASON_HEADER] for headers, _ in letters]
    assert all(r.startswith("poison:") for r in reasons), reasons
    assert "not JSON" in reasons[0] and "total_cents" in reasons[1] and "fraud" in reasons[2]
    assert {headers[topology.ORIGIN_HEADER] for headers, _ in letters} == {queue_name}


def _effect_consumer(database, amqp_url, queue_name, in_thread, fail_times):
    sessions = database(effects_metadata)
    calls = []

    def handle(session, event):
        calls.append(event.message_id)
        if len(calls) <= fail_times:
            raise ConnectionError(f"the database is busy (call {len(calls)})")
        session.execute(insert(effects).values(order_id=event.data["order_id"]))

    consumer = Consumer("test", queue_name, {"stock.committed": handle}, sessions, amqp_url)
    in_thread(consumer)
    wait_for(lambda: consumer.channel is not None, message="the consumer to subscribe")
    return sessions, calls


def _committed(order_id):
    return Envelope(type="stock.committed", version=1, source="test", correlation_id=order_id,
                    data={"order_id": order_id, "customer_id": "cust"})


def test_a_transient_failure_is_retried_after_a_delay_and_applied_once(
        database, amqp_url, channel, queue_name, in_thread, monkeypatch):
    monkeypatch.setenv("RETRY_DELAY_MS", "100")
    monkeypatch.setenv("MAX_ATTEMPTS", "5")
    sessions, calls = _effect_consumer(database, amqp_url, queue_name, in_thread, fail_times=2)
    _publish(channel, queue_name, _committed("order-retry").to_json())

    wait_for(lambda: _count(sessions, select(func.count()).select_from(effects)) == 1,
             timeout=20, message="the effect after two failures")  # 0.2 s of retry delays
    assert len(calls) == 3


def test_a_message_that_keeps_failing_is_dead_lettered_and_can_be_replayed(
        database, amqp_url, channel, queue_name, in_thread, monkeypatch, dead_letters):
    monkeypatch.setenv("RETRY_DELAY_MS", "100")
    monkeypatch.setenv("MAX_ATTEMPTS", "3")
    sessions, calls = _effect_consumer(database, amqp_url, queue_name, in_thread, fail_times=3)
    _publish(channel, queue_name, _committed("order-stuck").to_json())

    listed = wait_for(lambda: deadletters.list_dead_letters(amqp_url), message="a dead letter")
    assert len(calls) == 3
    assert listed[0]["queue"] == queue_name and listed[0]["attempts"] == 3
    assert listed[0]["reason"].startswith("failed 3 times: ConnectionError")
    assert _count(sessions, select(func.count()).select_from(effects)) == 0

    assert deadletters.replay_dead_letters(amqp_url) == 1  # the cause is gone: call 4 succeeds
    wait_for(lambda: _count(sessions, select(func.count()).select_from(effects)) == 1,
             message="the replayed message to be applied")
    assert dead_letters() == []
