"""The crash windows, hit on purpose: a fault point armed in one program (shared/runtime/faults.py)
makes it die exactly where the guarantee is at stake, on a real broker with real processes
under the runner; then the ledger audit checks every order ended once, as asked, and the
programs' logs show that the copy the crash made ARRIVED and was DROPPED by its message id
(Trade-off 3): without that, a redelivery absorbed by some other insert-if-absent would pass
even with the message-id check broken (tests/e2e/test_crash_windows_without_dedup.py shows
what the check prevents).

- the relay dies after the broker confirmed an event and before it marked the row sent, or
  in the middle of a batch, before any confirm: the rows are published (again) on restart;
- a consumer dies after its transaction committed and before its ack: the broker redelivers,
  and the consumer must see the message id it already recorded;
- a consumer dies after it sent a failed message to the retry queue, or to the dead letters,
  and before its ack: the original comes back AND so does the copy (from the retry queue
  after its delay, or from the dead letters when they are replayed): one is applied, the
  others dropped.

And the start order: orders accepted before inventory's worker ever declared its queue are
not lost, because the topology is declared, as data, before any program starts.
"""
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pika

import pytest
import requests

from audit.__main__ import audit_when_quiet, report
from audit.fetch import snapshot
from audit.ledger import read, tally
from runner.broker import Broker
from ops import deadletters
from tests.support import (ROOT, OUTCOMES, RunningVariant, endings, moved_ports, new_ledger,
                           post_recorded, wait_for)

PORT_OFFSET = 11000
AMQP_URL = "amqp://guest:guest@127.0.0.1:5678/%2F"
ORDERS = 8  # two of each outcome
WORKERS = ("orders-worker", "inventory-worker", "payments-worker", "shipping-worker",
           "notifications-worker")
DROPPED = re.compile(r"duplicate \S+ \S+ dropped by ")  # the consumer's line (Trade-off 3)


@pytest.fixture(scope="module")
def choreo():
    """The choreographed variant on its own broker, so redeliveries are ours alone; both stop
    at once at the end (not in the background: the next module starts a broker, and a
    broker's stop ends with `epmd -kill`)."""
    broker = Broker(AMQP_URL, ROOT / "var" / "test-crash-broker")
    shutil.rmtree(broker.base, ignore_errors=True)
    broker.start()
    running = RunningVariant("choreo", ROOT / "var" / "test-crash-choreo",
                             dict(moved_ports("choreo", PORT_OFFSET), AMQP_URL=AMQP_URL))
    try:
        running.start()
        yield running
    finally:
        with ThreadPoolExecutor() as stopping:
            stops = [stopping.submit(running.stop), stopping.submit(broker.stop)]
        for stop in stops:
            stop.result()


def _logs(system, programs):
    folder = system.var_dir / "choreo" / "logs"
    return [log.read_text() for program in programs for log in folder.glob(f"{program}-*.log")]


def _crashes(system, program, point):
    return sum(text.count(f"fault point {point}: crashing") for text in _logs(system, [program]))


def _dropped(system, programs=WORKERS):
    """Count the duplicates the consumers of `programs` dropped by their message id so far."""
    return sum(len(DROPPED.findall(text)) for text in _logs(system, programs))


def _urls(system):
    return {s: system.url(s) for s in ("orders", "inventory", "payments", "shipping",
                                       "notifications")}


def _audit_exactly(system, ledger, asked):
    results, _ = audit_when_quiet("choreo", _urls(system), 120, ledger=ledger.path,
                                  amqp_url=AMQP_URL)
    assert report(results), [v for _, _, v in results if v]
    assert tally(read(ledger.path)[1], snapshot(_urls(system))) == {
        "sent": sum(asked.values()), "accepted": sum(asked.values()), "asked": asked,
        "ended": endings(asked)}


def _place(system, ledger, scope):
    names = list(OUTCOMES)
    with requests.Session() as session:
        for n in range(ORDERS):
            assert post_recorded(session, system.url("orders"), ledger, scope, n,
                                 names[n % 4]).status_code == 202
    return dict.fromkeys(names, ORDERS // 4)


def _orders_through_a_crash(system, program, point, tmp_path, settings=()):
    """Arm `point` in `program` (with more `settings`), place ORDERS orders, wait for the
    crash, disarm; return (ledger, asked)."""
    crashed = _crashes(system, program, point)
    system.runner("restart-with", "choreo", program, f"FAULT_CRASH_AT={point}", *settings)
    ledger, scope = new_ledger(tmp_path, point.replace(".", "-"))
    asked = _place(system, ledger, scope)
    _disarm_after_the_crash(system, program, point, crashed, settings)
    return ledger, asked


def _disarm_after_the_crash(system, program, point, crashed, settings=()):
    wait_for(lambda: _crashes(system, program, point) > crashed, timeout=60,
             message=f"{point} crash")
    system.runner("restart-with", "choreo", program, "FAULT_CRASH_AT=",
                  *(setting.split("=")[0] + "=" for setting in settings))


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_a_relay_dying_after_the_confirm_and_before_mark_sent_doubles_nothing(choreo, tmp_path):
    # orders' relay publishes order.placed: a second copy would reserve the stock twice.
    dropped = _dropped(choreo)
    ledger, asked = _orders_through_a_crash(choreo, "orders-worker", "relay.after_confirm",
                                            tmp_path)
    _audit_exactly(choreo, ledger, asked)
    assert _dropped(choreo) > dropped  # the second copy arrived, and its message id dropped it


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_a_relay_dying_mid_batch_before_any_confirm_loses_nothing(choreo, tmp_path):
    # With orders' worker down, the orders' events wait in the outbox: the relay's first round
    # after the restart is one batch of all of them (Trade-off 19), and it dies after
    # publishing the third, before the broker confirmed any. Nothing of that batch may be
    # marked sent: every row goes out after the restart (pika had not even flushed the three).
    choreo.runner("stop-service", "choreo", "orders-worker")
    ledger, scope = new_ledger(tmp_path, "relay-mid-batch")
    asked = _place(choreo, ledger, scope)
    crashed = _crashes(choreo, "orders-worker", "relay.mid_batch")
    choreo.runner("restart-with", "choreo", "orders-worker", "FAULT_CRASH_AT=relay.mid_batch:3")
    _disarm_after_the_crash(choreo, "orders-worker", "relay.mid_batch", crashed)
    _audit_exactly(choreo, ledger, asked)


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_a_consumer_dying_after_its_commit_and_before_its_ack_doubles_nothing(choreo, tmp_path):
    # inventory's consumer reserves stock: the redelivery must not reserve it again.
    dropped = _dropped(choreo, ["inventory-worker"])
    ledger, asked = _orders_through_a_crash(choreo, "inventory-worker", "consumer.before_ack",
                                            tmp_path)
    _audit_exactly(choreo, ledger, asked)
    assert _dropped(choreo, ["inventory-worker"]) > dropped  # redelivered, and dropped


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_a_consumer_dying_after_its_retry_copy_and_before_its_ack_doubles_nothing(choreo,
                                                                                   tmp_path):
    # While armed, payments fails every attempt (rate 1; MAX_ATTEMPTS high, so nothing is
    # dead-lettered): a failed stock.reserved goes to the retry queue, then the worker dies
    # before its ack. Disarmed (the failures off too), the original comes back at once and the
    # retry copy after RETRY_DELAY_MS: one of them charges the order, the other is dropped.
    dropped = _dropped(choreo, ["payments-worker"])
    ledger, asked = _orders_through_a_crash(
        choreo, "payments-worker", "consumer.after_retry", tmp_path,
        ["PAYMENTS_FAULT_FAILURE_RATE=1", "MAX_ATTEMPTS=1000"])
    _audit_exactly(choreo, ledger, asked)
    assert _dropped(choreo, ["payments-worker"]) > dropped


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_a_consumer_dying_after_its_dead_letter_and_before_its_ack_loses_no_order(choreo,
                                                                                   tmp_path):
    # While armed, payments fails every attempt and gives up after one (MAX_ATTEMPTS=1): the
    # message is dead-lettered, then the worker dies before its ack. The dead letters are
    # at-least-once: the copy stays there (once per crash), and the original comes back and,
    # disarmed, is applied. Replaying the dead letters then sends only duplicates, which the
    # message id drops: no order lost, none charged twice, no dead letter left.
    dropped = _dropped(choreo, ["payments-worker"])
    ledger, asked = _orders_through_a_crash(
        choreo, "payments-worker", "consumer.after_dead_letter", tmp_path,
        ["PAYMENTS_FAULT_FAILURE_RATE=1", "MAX_ATTEMPTS=1"])
    letters = deadletters.list_dead_letters(AMQP_URL)
    assert letters and {(letter["queue"], letter["attempts"]) for letter in letters} == {
        ("payments.events", 1)}, letters
    assert deadletters.replay_dead_letters(AMQP_URL) == len(letters)
    _audit_exactly(choreo, ledger, asked)
    assert _dropped(choreo, ["payments-worker"]) >= dropped + len(letters)


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_orders_placed_before_inventory_ever_declared_its_queue_all_end_as_asked(choreo,
                                                                                  tmp_path):
    output = "".join(choreo.output)  # the runner declared the topology before any program
    declared = output.find("runner: topology declared")
    assert 0 <= declared < output.find("runner: starting the programs")
    choreo.runner("stop-service", "choreo", "inventory-worker")
    with pika.BlockingConnection(pika.URLParameters(AMQP_URL)) as connection:
        channel = connection.channel()  # as on a broker where inventory never ran
        channel.queue_delete("inventory.events")
        channel.queue_delete("inventory.events.retry")
    subprocess.run([sys.executable, "-m", "shared.messaging.topology"], env=choreo.env,
                   cwd=ROOT, check=True, timeout=60)  # what the runner does before any start
    ledger, scope = new_ledger(tmp_path, "start-order")
    asked = _place(choreo, ledger, scope)
    choreo.runner("start-service", "choreo", "inventory-worker")
    _audit_exactly(choreo, ledger, asked)
