"""The runner lets one service stop and restart while the rest keep running."""
import pytest

from tests.support import order, wait_final, get_json


@pytest.fixture
def payments_program(system):
    """The program that does the payments work in this variant."""
    return {"choreo": "payments-worker", "orch": "payments-api"}[system.variant]


def test_an_order_placed_while_payments_is_stopped_completes_once_it_is_back(
        system, http, urls, payments_program):
    system.runner("stop-service", system.variant, payments_program)
    try:
        response = http.post(f"{urls['orders']}/orders", json=order(sku="MUG-BLUE"), timeout=60)
        assert response.status_code in (201, 202)
        order_id = response.json()["order_id"]
        assert get_json(http, f"{urls['orders']}/orders/{order_id}")["status"] == "PENDING"
    finally:
        system.runner("start-service", system.variant, payments_program)
    assert wait_final(http, urls["orders"], order_id, timeout=120)["status"] == "COMPLETED"
    status = system.runner("status", system.variant).stdout
    assert "RUNNING" in status and "STOPPED" not in status
