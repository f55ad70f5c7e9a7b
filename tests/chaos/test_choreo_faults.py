"""Choreographed: a short fault catalogue against one running variant; nothing lost, nothing
doubled. Then the teaching switches, last, since they break the system on purpose."""
import pytest

from chaos import fuzz
from tests.chaos.conftest import started


@pytest.fixture(scope="module")
def system(stop_later):
    """The choreographed variant, two worker replicas per service, for this module."""
    running = started("choreo")
    yield running
    stop_later(running.stop)  # in the background: the next module uses other ports


@pytest.mark.parametrize("scenario", ["kill-payments", "kill-replica", "broker-restart",
                                      "slow-shipping", "flaky-inventory", "duplicates",
                                      "poison", "idempotency"])
def test_under_the_fault_no_order_is_lost_and_no_effect_doubled(system, run, scenario):
    row = run(system, scenario)
    assert row.passed, row
    assert row.lost == 0 and row.doubled == 0 and row.accepted > 0


def test_generated_bad_requests_get_a_4xx_and_create_no_order(system):
    row = fuzz.run(system, 150)
    print(row.notes)
    assert row.passed, row.notes


def test_without_dedup_duplicated_events_hold_stock_twice(system, run):
    system.restart_with(["inventory-worker"], {"TEACH_DISABLE_DEDUP": "1"})
    row = run(system, "duplicates", audit_s=15)
    assert not row.passed and row.doubled > 0


def test_without_the_outbox_a_broker_restart_loses_orders(system, run):
    system.restart_with(["orders-api"], {"TEACH_DISABLE_OUTBOX": "1"})
    row = run(system, "broker-restart", audit_s=15)
    assert not row.passed and row.lost > 0
