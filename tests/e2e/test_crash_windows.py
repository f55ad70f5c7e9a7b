"""The crash windows, hit on purpose: a fault point armed in one program (shared/faults.py)
makes it die exactly where the guarantee is at stake, on a real broker with real processes
under the runner; then the ledger audit checks every order ended once, as asked.

- the relay dies after the broker confirmed an event and before it marked the row sent: the
  event is published again on restart, and its consumers must absorb the duplicate;
- a consumer dies after its transaction committed and before its ack: the broker redelivers,
  and the consumer must see the message id it already recorded.
"""
import shutil

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


def _orders_through_a_crash(system, program, point, tmp_path):
    """Arm `point` in `program`, place ORDERS orders, wait for the crash, disarm; return the
    ledger after the audit passed."""
    system.runner("restart-with", "choreo", program, f"FAULT_CRASH_AT={point}")
    ledger, scope = new_ledger(tmp_path, point.replace(".", "-"))
    names = list(OUTCOMES)
    with requests.Session() as session:
        for n in range(ORDERS):
            assert post_recorded(session, system.url("orders"), ledger, scope, n,
                                 names[n % 4]).status_code == 202
    wait_for(lambda: _crashes(system, program, point), timeout=60, message=f"{point} crash")
    system.runner("restart-with", "choreo", program, "FAULT_CRASH_AT=")
    urls = {s: system.url(s) for s in ("orders", "inventory", "payments", "shipping",
                                       "notifications")}
    results, _ = audit_when_quiet("choreo", urls, 120, ledger=ledger.path, amqp_url=AMQP_URL)
    assert report(results), [v for _, _, v in results if v]
    asked = dict.fromkeys(names, ORDERS // 4)
    assert tally(read(ledger.path)[1], snapshot(urls)) == {
        "sent": ORDERS, "accepted": ORDERS, "asked": asked, "ended": endings(asked)}


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_a_relay_dying_after_the_confirm_and_before_mark_sent_doubles_nothing(choreo, tmp_path):
    # inventory's relay publishes stock.reserved: a second copy would charge the card twice.
    _orders_through_a_crash(choreo, "inventory-worker", "relay.after_confirm", tmp_path)


@pytest.mark.broker
@pytest.mark.timeout(300)
def test_a_consumer_dying_after_its_commit_and_before_its_ack_doubles_nothing(choreo, tmp_path):
    # payments' consumer charges the card: the redelivery must not charge it again.
    _orders_through_a_crash(choreo, "payments-worker", "consumer.before_ack", tmp_path)
