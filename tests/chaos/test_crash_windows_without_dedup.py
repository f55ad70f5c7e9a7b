"""The twins of two crash windows of tests/e2e/test_crash_windows.py, with the message-id
check turned off (TEACH_DISABLE_DEDUP=1, docs/reliability.md): the same crash, the same
orders, and the audit finds the double that the check prevents. Each twin spoils its variant's stock for good,
so each starts a variant of its own (the guarded windows share one, and must stay clean).

The switch also turns off inventory's once-per-order guard (shared/domain/inventory.py):
otherwise that second layer would absorb the redelivered order.placed and nothing would show.
"""
import shutil

import pytest

from audit.__main__ import audit_when_quiet
from audit.fetch import snapshot
from audit.ledger import read, tally
from runner.broker import Broker
from tests.e2e.test_crash_windows import _dropped, _orders_through_a_crash, _urls
from tests.support import ROOT, RunningVariant, endings, moved_ports

PORT_OFFSET = 12000
AMQP_URL = "amqp://guest:guest@127.0.0.1:5680/%2F"


@pytest.fixture(scope="module")
def broker(stop_later):
    node = Broker(AMQP_URL, ROOT / "var" / "test-nodedup-broker")
    shutil.rmtree(node.base, ignore_errors=True)
    node.start()
    yield node
    stop_later(node.stop)  # after the last variant on it has stopped


@pytest.fixture
def unguarded(broker):
    """A fresh choreographed variant whose every program runs with TEACH_DISABLE_DEDUP=1."""
    running = RunningVariant("choreo", ROOT / "var" / "test-nodedup-choreo",
                             dict(moved_ports("choreo", PORT_OFFSET), AMQP_URL=AMQP_URL,
                                  TEACH_DISABLE_DEDUP="1"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.mark.broker
@pytest.mark.timeout(300)
@pytest.mark.parametrize("program, point", [("orders-worker", "relay.after_confirm"),
                                            ("inventory-worker", "consumer.before_ack")])
def test_without_the_message_id_check_the_same_crash_holds_stock_twice(unguarded, program,
                                                                      point, tmp_path):
    ledger, asked = _orders_through_a_crash(unguarded, program, point, tmp_path)
    results, _ = audit_when_quiet("choreo", _urls(unguarded), 120, ledger=ledger.path,
                                  amqp_url=AMQP_URL)
    violations = {name: found for name, _, found in results}
    # The redelivered order.placed reserved the stock again; nothing ever settles that hold.
    assert any("still reserved" in line for line in violations["stock conserved"]), results
    assert _dropped(unguarded) == 0  # the switch really is off: no copy was dropped
    # ... and the client sees nothing wrong: every order ended once, as asked.
    assert tally(read(ledger.path)[1], snapshot(_urls(unguarded))) == {
        "sent": sum(asked.values()), "accepted": sum(asked.values()), "asked": asked,
        "ended": endings(asked)}
