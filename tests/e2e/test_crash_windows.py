"""The crash windows, hit on purpose: a fault point armed in one program (shared/faults.py)
makes it die exactly where the guarantee is at stake, on a real broker with real processes
under the runner; then the ledger audit checks every order ended once, as asked.

- the relay dies after the broker confirmed an event and before it marked the row sent: the
  event is published again on restart, and its consumers must absorb the duplicate;
- a consumer dies after its transaction committed and before its ack: the broker redelivers,
  and the consumer must see the message id it already recorded.

And the start order: orders accepted before inventory's worker ever declared its queue are
not lost, because the topology is declared, as data, before any program starts.
"""
import shutil
import subprocess
import sys

import pika

import pytest
import requests

from audit.__main__ import audit_when_quiet, report
from audit.fetch import snapshot
from audit.ledger import read, tally
from runner.broker import Broker
from tests.support import (ROOT, OUTCOMES, RunningVariant, endings, moved_ports, new_ledger,
                           post_recorded, wait_for)

PORT_OFFSET = 11000
AMQP_URL = "amqp://guest:guest@127.0.0.1:5678/%2F"
ORDERS = 8  # two of each outcome


@pytest.fixture(scope="module")
def choreo():
    """The choreographed variant on its own broker, so redeliveries are ours alone."""
    broker = Broker(AMQP_URL, ROOT / "var" / "test-crash-broker")
    shutil.rmtree(broker.base, ignore_errors=True)
    broker.start()
    running = RunningVariant("choreo", ROOT / "var" / "test-crash-choreo",
                             dict(moved_ports("choreo", PORT_OFFSET), AMQP_URL=AMQP_URL))
    try:
        running.start()
        yield running
    finally:
        running.stop()
        broker.stop()


def _crashes(system, program, point):
    logs = (system.var_dir / "choreo" / "logs").glob(f"{program}-*.log")
    return sum(log.read_text().count(f"fault point {point}: crashing") for log in logs)


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


def _orders_through_a_crash(system, program, point, tmp_path):
    """Arm `point` in `program`, place ORDERS orders, wait for the crash, disarm, audit."""
    system.runner("restart-with", "choreo", program, f"FAULT_CRASH_AT={point}")
    ledger, scope = new_ledger(tmp_path, point.replace(".", "-"))
    asked = _place(system, ledger, scope)
    wait_for(lambda: _crashes(system, program, point), timeout=60, message=f"{point} crash")
    system.runner("restart-with", "choreo", program, "FAULT_CRASH_AT=")
    _audit_exactly(system, ledger, asked)


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_a_relay_dying_after_the_confirm_and_before_mark_sent_doubles_nothing(choreo, tmp_path):
    # orders' relay publishes order.placed: a second copy would reserve the stock twice.
    _orders_through_a_crash(choreo, "orders-worker", "relay.after_confirm", tmp_path)


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_a_consumer_dying_after_its_commit_and_before_its_ack_doubles_nothing(choreo, tmp_path):
    # inventory's consumer reserves stock: the redelivery must not reserve it again.
    _orders_through_a_crash(choreo, "inventory-worker", "consumer.before_ack", tmp_path)


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
