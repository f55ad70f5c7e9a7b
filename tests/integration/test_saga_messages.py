"""The orchestrated saga over RabbitMQ (ORCH_TRANSPORT=amqp), against a real broker and real
SQLite databases: the services' command consumers (orders-orch/commands/amqp.py) and the
orchestrator's messaging driver (orders-orch/orchestrator/messaging_driver.py).

The processes' crash windows are played in one process: "the orchestrator crashed after
recording the step, before its relay published" is a step recorded while no relay runs, then
a relay started (the restart); "the service crashed after its commit, before its ack" is the
same command delivered again.
"""
import json
import logging
import sys
import threading
import time
import uuid
from pathlib import Path

import pika
import pytest
from sqlalchemy import func, select

sys.path.append(str(Path(__file__).resolve().parents[2] / "orders-orch"))

from shared.domain import inventory  # noqa: E402
from shared.messaging.envelope import Envelope  # noqa: E402
from shared.runtime.db import read_only, transaction  # noqa: E402
from commands import amqp  # noqa: E402
from shared.messaging import topology
from shared.messaging.consumer import Consumer  # noqa: E402
from shared.messaging.relay import OutboxRelay  # noqa: E402
from orchestrator import tables as orchestrator_models  # noqa: E402
from shared.models.inventory import metadata as inventory_metadata  # noqa: E402
from shared.models.payments import metadata as payments_metadata, payments  # noqa: E402
from shared.models.plumbing import outbox  # noqa: E402
from orchestrator import store  # noqa: E402
from orchestrator.messaging_driver import MessagingDriver  # noqa: E402
from orchestrator.shards import Leases, shard_of  # noqa: E402
from tests.support import orch_modules, wait_for  # noqa: E402

pytestmark = pytest.mark.broker
REPLICA = "orchestrator-7"  # a replica number no other test uses: its own reply queue


@pytest.fixture(autouse=True)
def broker_url(amqp_url, monkeypatch, channel):
    """Point config.amqp_url() at the integration broker; start with empty command queues."""
    monkeypatch.setenv("AMQP_URL", amqp_url)
    amqp.declare(channel, ("inventory", "payments"), [REPLICA])
    for queue in (amqp.command_queue("inventory"), amqp.command_queue("payments"),
                  amqp.reply_queue(REPLICA), topology.DEAD_LETTER_QUEUE):
        channel.queue_purge(queue)
    return amqp_url


def service(name, database, in_thread, metadata, relay=True):
    """Start a service's command consumer (and its reply relay); return its session factory."""
    sessions = database(metadata)
    if name == "inventory":
        with transaction(sessions) as session:
            inventory.seed(session)
    with orch_modules(f"{name}.api") as (api,):
        consumer, reply_relay = amqp.consumers(name, sessions, api.COMMANDS, count=1)
    in_thread(consumer)
    if relay:
        in_thread(reply_relay)
    wait_for(lambda: consumer.channel is not None and consumer.channel.is_open,
             message=f"{name}'s command consumer to subscribe")
    return sessions


@pytest.fixture
def replies(channel, queue_name):
    """A reply queue of the test's own; return (reply_to, read())."""
    reply_to = amqp.reply_key(queue_name)
    topology.declare_consumer_queue(channel, queue_name, [reply_to], amqp.EXCHANGE)

    def read(count):
        found = []

        def arrived():
            while (message := channel.basic_get(queue_name, auto_ack=True))[0]:
                found.append(json.loads(message[2]))
            return len(found) >= count
        wait_for(arrived, timeout=20, message=f"{count} replies")
        return found
    return reply_to, read


def charge_command(reply_to, order_id, card="tok_visa", key=None, **body_changes):
    body = {"order_id": order_id, "customer_id": "cust-it", "amount_cents": 1250,
            "currency": "EUR", "card_token": card, **body_changes}
    key = key or f"{order_id}:charge_payment:do"
    return Envelope(type=amqp.COMMAND, version=1, source="test", correlation_id=order_id,
                    message_id=key, data={"key": key, "method": "POST", "path": "/payments",
                                          "body": body, "reply_to": reply_to})


def publish(channel, command, service="payments"):
    channel.basic_publish(amqp.EXCHANGE, amqp.command_key(service), command.to_json(),
                          properties=topology.persistent(command.type, command.message_id,
                                                         command.correlation_id))


def count_payments(sessions, order_id):
    with read_only(sessions) as session:
        return session.scalar(select(func.count()).where(payments.c.order_id == order_id))


# --- the services' side -----------------------------------------------------------------------

def test_a_command_delivered_twice_is_applied_once_and_answered_the_same_both_times(
        database, in_thread, channel, replies):
    sessions = service("payments", database, in_thread, payments_metadata)
    reply_to, read = replies
    order_id = str(uuid.uuid4())
    command = charge_command(reply_to, order_id)
    publish(channel, command)
    publish(channel, command)  # the same message again: a redelivery after a crash before ack
    first, second = read(2)
    assert first["data"]["status"] == second["data"]["status"] == 201
    assert first["data"]["body"] == second["data"]["body"]
    assert (first["data"]["replayed"], second["data"]["replayed"]) == (False, True)
    assert count_payments(sessions, order_id) == 1


def test_a_business_refusal_is_a_409_reply_like_the_http_answer(database, in_thread, channel,
                                                                replies):
    service("payments", database, in_thread, payments_metadata)
    reply_to, read = replies
    publish(channel, charge_command(reply_to, str(uuid.uuid4()), card="tok_declined"))
    (reply,) = read(1)
    assert reply["data"]["status"] == 409
    assert reply["data"]["body"]["error"]["code"] == "payment_declined"


def test_poison_commands_are_dead_lettered_with_a_reason_and_get_no_reply(
        database, in_thread, channel, replies):
    sessions = service("payments", database, in_thread, payments_metadata)
    reply_to, read = replies
    unknown = charge_command(reply_to, str(uuid.uuid4()))
    unknown.data["path"] = "/teleports"
    invalid = charge_command(reply_to, str(uuid.uuid4()), amount_cents="much")
    good_order = str(uuid.uuid4())
    for command in (unknown, invalid, charge_command(reply_to, good_order)):
        publish(channel, command)
    (reply,) = read(1)  # the consumer went on past the poison
    assert reply["data"]["key"].startswith(good_order)
    letters = wait_for(lambda: len(found := dead_letters(channel)) >= 2 and found,
                       message="two dead letters")
    reasons = {props.message_id: props.headers[topology.REASON_HEADER] for props in letters}
    assert all(reason.startswith("poison:") for reason in reasons.values()), reasons  # at once
    assert "no command POST /teleports" in reasons[unknown.message_id]
    assert "400" in reasons[invalid.message_id] and "amount_cents" in reasons[invalid.message_id]
    assert count_payments(sessions, good_order) == 1


def dead_letters(channel):
    found = []
    while (message := channel.basic_get(topology.DEAD_LETTER_QUEUE, auto_ack=True))[0]:
        found.append(message[1])
    return found


# --- the orchestrator's side ------------------------------------------------------------------

ORDER = {"customer_id": "cust-it", "total_cents": 1250, "currency": "EUR",
         "items": [{"sku": "MUG-RED", "quantity": 1, "unit_price_cents": 1250}],
         "card_token": "tok_visa", "shipping_address": {"country": "DE"}}


class Orchestrator:
    """One replica's messaging driver, its reply consumer and (when started) its relay."""

    def __init__(self, sessions, in_thread, owner="replica-a", ttl_ms=60_000):
        self.sessions, self.in_thread = sessions, in_thread
        self.leases = Leases(sessions, owner, "http://test", REPLICA, 1, ttl_ms)
        self.leases.tick()
        self.driver = MessagingDriver(sessions, self.leases, REPLICA)

    def new_saga(self):
        order = {**ORDER, "order_id": str(uuid.uuid4())}
        shard = shard_of(order["order_id"], 1)
        store.create(self.sessions, order, "corr", shard, self.leases.token(shard))
        return order["order_id"]

    def start_relay(self):
        relay = OutboxRelay(self.sessions, commands_url(), exchange=amqp.EXCHANGE,
                            only=outbox.c.owner == REPLICA)
        return self.in_thread(relay)

    def start_reply_consumer(self):
        consumer = Consumer("orchestrator", amqp.reply_queue(REPLICA),
                            {amqp.REPLY: self.driver.on_reply}, self.sessions,
                            commands_url(), dedup=False, exchange=amqp.EXCHANGE,
                            bindings=(amqp.reply_key(REPLICA),))
        self.in_thread(consumer)
        wait_for(lambda: consumer.channel is not None, message="the reply consumer")

    def saga(self, saga_id):
        return store.load(self.sessions, saga_id)

    def log(self, saga_id):
        return saga_log(self.sessions, saga_id)


def commands_url():
    from shared.runtime import config
    return config.amqp_url()


@pytest.fixture
def orchestrator(database, in_thread):
    return Orchestrator(database(orchestrator_models.metadata), in_thread)


def reply(saga_id, step="reserve_stock", status=201, body=None, kind="do"):
    key = f"{saga_id}:{step}:{kind}"
    return Envelope(type=amqp.REPLY, version=1, source="inventory", correlation_id="corr",
                    data={"key": key, "status": status,
                          "body": body or {"order_id": saga_id, "status": "held"}})


def send_reply(channel, envelope):
    channel.basic_publish(amqp.EXCHANGE, amqp.reply_key(REPLICA), envelope.to_json(),
                          properties=topology.persistent(envelope.type, envelope.message_id,
                                                         envelope.correlation_id))


def test_a_step_recorded_before_a_crash_is_published_by_the_relay_after_the_restart(
        database, in_thread, orchestrator):
    service("inventory", database, in_thread, inventory_metadata)
    orchestrator.start_reply_consumer()
    saga_id = orchestrator.new_saga()
    orchestrator.driver.send(saga_id)  # recorded, and the replica "crashes": no relay ran
    assert orchestrator.log(saga_id)[-1] == ("reserve_stock", "started")
    time.sleep(1)
    assert orchestrator.saga(saga_id)["cursor"] == 0  # nothing left the orchestrator
    orchestrator.start_relay()  # the restarted replica's relay finds the command unsent
    wait_for(lambda: orchestrator.saga(saga_id)["cursor"] == 1, timeout=20,
             message="the reservation's reply to advance the saga")
    assert orchestrator.log(saga_id)[-1] == ("charge_payment", "started")


def test_a_duplicated_or_late_reply_does_not_advance_the_saga_twice(orchestrator, channel):
    orchestrator.start_reply_consumer()
    saga_id = orchestrator.new_saga()
    orchestrator.driver.send(saga_id)
    answer = reply(saga_id)
    send_reply(channel, answer)
    wait_for(lambda: orchestrator.saga(saga_id)["cursor"] == 1, message="the first reply")
    send_reply(channel, answer)  # the same reply again (a resend's stored answer)
    send_reply(channel, reply(saga_id, status=409,
                              body={"error": {"code": "out_of_stock", "message": "late"}}))
    send_reply(channel, reply(saga_id, step="charge_payment", status=201,
                              body={"payment_id": "p-1", "amount_cents": 1250}))  # a sentinel
    wait_for(lambda: orchestrator.saga(saga_id)["cursor"] == 2, message="the sentinel reply")
    saga = orchestrator.saga(saga_id)
    assert saga["state"] == "RUNNING" and saga["reason"] is None
    outcomes = [line for line in orchestrator.log(saga_id) if line[0] == "reserve_stock"]
    assert outcomes == [("reserve_stock", "started"), ("reserve_stock", "succeeded")]


def test_a_reply_to_a_replica_whose_lease_was_taken_over_is_refused_by_the_fence(
        database, in_thread, channel, caplog):
    caplog.set_level(logging.INFO, logger="orchestrator.messaging_driver")
    sessions = database(orchestrator_models.metadata)
    stale = Orchestrator(sessions, in_thread, owner="replica-a", ttl_ms=300)
    stale.start_reply_consumer()
    saga_id = stale.new_saga()
    stale.driver.send(saga_id)
    time.sleep(0.5)  # replica-a stalls past its lease (it does not tick) ...
    Orchestrator(sessions, in_thread, owner="replica-b")  # ... and replica-b takes it over
    send_reply(channel, reply(saga_id))  # the reply reaches replica-a, with its old token
    wait_for(lambda: f"reply {saga_id}:reserve_stock:do refused" in caplog.text,
             message="the reply to be refused")
    saga = stale.saga(saga_id)
    assert saga["cursor"] == 0
    assert [line for line in stale.log(saga_id) if line[1] == "succeeded"] == []


def test_a_lost_reply_is_recovered_by_sending_the_command_again(
        database, in_thread, orchestrator, channel, monkeypatch):
    monkeypatch.setenv("ORCH_REPLY_TIMEOUT_MS", "200")
    service("inventory", database, in_thread, inventory_metadata)
    orchestrator.start_relay()
    saga_id = orchestrator.new_saga()
    orchestrator.driver.send(saga_id)  # its reply goes to a queue nobody consumes yet ...
    wait_for(lambda: queued(channel, amqp.reply_queue(REPLICA)) == 1, timeout=20,
             message="the reply to arrive")
    channel.queue_purge(amqp.reply_queue(REPLICA))  # ... and is lost
    orchestrator.start_reply_consumer()
    time.sleep(0.3)  # the reply timeout passes: the saga is due again
    assert store.due(orchestrator.sessions, {0}, 10) == [saga_id]
    assert orchestrator.driver.resend_due(saga_id)  # what the recovery loop does with it
    wait_for(lambda: orchestrator.saga(saga_id)["cursor"] == 1, timeout=20,
             message="the stored answer to advance the saga")
    assert ("reserve_stock", "sent again: no reply within 200 ms") in orchestrator.log(saga_id)


def lone_replica(sessions, monkeypatch):
    """Return a messaging replica (orchestrator-7) that holds the only shard, and a new order."""
    from orchestrator.messaging_replica import MessagingReplica
    monkeypatch.setenv("ORCH_SHARDS", "1")
    replica = MessagingReplica(sessions, 7, "http://test")  # its role: orchestrator-7
    replica.leases.tick()
    return replica, {**ORDER, "order_id": str(uuid.uuid4())}


def commands_of(sessions, saga_id):
    """Return the outbox rows of a saga's commands (one per command sent, resent or not)."""
    with read_only(sessions) as session:
        return list(session.execute(select(outbox.c.message_id)
                                    .where(outbox.c.message_id.like(f"{saga_id}:%"))).scalars())


def test_a_recovery_round_does_not_send_again_the_command_a_launch_just_sent(
        database, monkeypatch):
    sessions = database(orchestrator_models.metadata)
    replica, order = lone_replica(sessions, monkeypatch)
    saga_id = order["order_id"]
    store.create(sessions, order, "corr", 0, replica.leases.token(0))  # due at once, as any new
    listed = store.due

    def listed_then_launched(*args, **kwargs):
        due = listed(*args, **kwargs)  # the round lists the new saga as due ...
        replica.drive(saga_id)  # ... and meanwhile its launch sends the first command
        return due
    monkeypatch.setattr(store, "due", listed_then_launched)
    assert replica.recover_once() == 0  # commands sent again
    assert commands_of(sessions, saga_id) == [f"{saga_id}:reserve_stock:do"]
    assert store.load(sessions, saga_id)["retries"] == 0
    steps = [line for line in saga_log(sessions, saga_id) if line[0] == "reserve_stock"]
    assert steps == [("reserve_stock", "started")]  # and no "sent again: ..." line


def test_a_saga_this_replica_launched_is_sent_again_when_its_reply_does_not_come(
        database, monkeypatch):
    """The other side of the race above: the loop must still resend a saga the replica is
    waiting for (its request may hold a slot), once its reply is overdue."""
    monkeypatch.setenv("ORCH_REPLY_TIMEOUT_MS", "200")
    sessions = database(orchestrator_models.metadata)
    replica, order = lone_replica(sessions, monkeypatch)
    saga_id = order["order_id"]
    create = lambda: store.create(sessions, order, "corr", 0, replica.leases.token(0))  # noqa
    waiting = replica.drive(saga_id, before=create)  # no relay: its command never leaves
    assert replica.recover_once() == 0  # not due yet
    time.sleep(0.3)
    assert not waiting.done() and replica.recover_once() == 1
    assert ("reserve_stock", "sent again: no reply within 200 ms") in saga_log(sessions, saga_id)


def saga_log(sessions, saga_id):
    """Return a saga's log as (step, outcome) lines, oldest first."""
    with read_only(sessions) as session:
        return [tuple(r) for r in session.execute(
            select(orchestrator_models.saga_log.c.step, orchestrator_models.saga_log.c.outcome)
            .where(orchestrator_models.saga_log.c.saga_id == saga_id)
            .order_by(orchestrator_models.saga_log.c.id))]


POSTGRES_PORT = 15442


@pytest.fixture
def postgres_sessions(tmp_path):
    """The orchestrator's tables in a throwaway PostgreSQL database of this test's own."""
    from shared.models import plumbing
    from shared.runtime.db import make_engine, make_session_factory
    from tests.support import throwaway_postgres
    with throwaway_postgres(POSTGRES_PORT, "test-saga-messages-postgres") as cluster:
        cluster.create_databases(["orchestrator"])
        url = f"postgresql+psycopg://postgres@127.0.0.1:{POSTGRES_PORT}/orchestrator"
        engine = make_engine(url)
        yield make_session_factory(engine, orchestrator_models.metadata, plumbing.metadata)
        engine.dispose()


def test_on_postgresql_a_recovery_send_beside_a_launch_waits_for_it_and_sends_nothing(
        postgres_sessions, monkeypatch):
    """The same race as above, with both transactions open at once: the recovery loop's send
    starts while the launch's transaction has recorded the step and not yet committed."""
    sessions = postgres_sessions
    replica, order = lone_replica(sessions, monkeypatch)
    saga_id = order["order_id"]
    store.create(sessions, order, "corr", 0, replica.leases.token(0))
    recovery = []
    recorded = store.advance_in

    def recorded_then_recovery_starts(*args, **kwargs):
        saga = recorded(*args, **kwargs)
        if not recovery:  # the launch, inside its transaction: the recovery round begins now
            recovery.append(threading.Thread(target=replica.recover_once))
            recovery[0].start()
            time.sleep(0.5)  # long enough for the round to read the saga and try to send it
        return saga
    monkeypatch.setattr(store, "advance_in", recorded_then_recovery_starts)
    failures = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))
    replica.drive(saga_id)
    recovery[0].join(timeout=20)
    assert not recovery[0].is_alive() and failures == []
    assert commands_of(sessions, saga_id) == [f"{saga_id}:reserve_stock:do"]
    assert store.load(sessions, saga_id)["retries"] == 0


def queued(channel, queue):
    return channel.queue_declare(queue, passive=True).method.message_count


# --- POST /sagas's wait: a Future per waiting request, completed by the reply consumer --------

def test_a_waiting_request_is_woken_by_the_reply_that_ends_its_saga_and_the_bound_holds(
        database, in_thread, channel, monkeypatch):
    monkeypatch.setenv("ORCH_MAX_IN_FLIGHT", "1")
    sessions = database(orchestrator_models.metadata)
    replica, order = lone_replica(sessions, monkeypatch)
    consumer = Consumer("orchestrator", amqp.reply_queue(REPLICA),
                        {amqp.REPLY: replica.messages.on_reply}, sessions, commands_url(),
                        dedup=False, exchange=amqp.EXCHANGE,
                        bindings=(amqp.reply_key(REPLICA),))
    in_thread(consumer)
    wait_for(lambda: consumer.channel is not None, message="the reply consumer")
    create = lambda: store.create(sessions, order, "corr", 0, replica.leases.token(0))  # noqa
    waiting = replica.drive(order["order_id"], before=create)
    assert replica.drive(str(uuid.uuid4())) is None  # the bound: one saga in flight, a 429
    saga_id = order["order_id"]
    refused = {"error": {"code": "out_of_stock", "message": "none left"}}
    for answer in (reply(saga_id, status=409, body=refused), reply(saga_id, step="cancel_order"),
                   reply(saga_id, step="notify_customer")):
        send_reply(channel, answer)
    saga = waiting.result(timeout=20)  # no thread drove it: the reply consumer completed it
    assert (saga["state"], saga["reason"]) == ("CANCELLED", "out_of_stock")
    assert replica.drive(str(uuid.uuid4()), before=lambda: None) is not None  # room again
