"""The chaos table's counts (chaos/measure.py) come from the clients' ledger: an order lost is an
accepted key without a final order, and an order doubled may have an id of its own."""
import pytest

from audit.ledger import Ledger
from chaos import measure as measure_module
from chaos.measure import Row, measure


def _order(order_id, customer, status="COMPLETED", sku="MUG-RED", quantity=1):
    return {"order_id": order_id, "customer_id": customer, "status": status, "reason": None,
            "items": [{"sku": sku, "quantity": quantity}]}


def _snap(orders, payments=(), reserved=0, committed=None):
    sold = sum(o["items"][0]["quantity"] for o in orders if o["status"] == "COMPLETED")
    return {"orders": list(orders), "payments": list(payments), "shipments": [],
            "notifications": [],
            "stock": [{"sku": "MUG-RED", "reserved": reserved,
                       "committed": sold if committed is None else committed}]}


@pytest.fixture
def row_of(tmp_path, monkeypatch):
    """Return row_of(attempts, snap): the Row measure() fills from that ledger and snapshot."""
    def row_of(attempts, snap):
        ledger = Ledger(tmp_path / "ledger.jsonl", "t-")
        for attempt in attempts:
            ledger.record(*attempt)
        monkeypatch.setattr(measure_module, "snapshot", lambda urls: snap)
        return measure(Row("scenario", "choreo"), {}, ledger.path)
    return row_of


def test_a_clean_run_counts_every_key_once(row_of):
    row = row_of([("t-1", "t-1", "completed", 202, "A"), ("t-2", "t-2", "completed", 202, "B"),
                  ("t-3", "t-3", "completed", 429)],
                 _snap([_order("A", "t-1"), _order("B", "t-2", "CANCELLED")]))
    assert (row.sent, row.accepted, row.completed, row.cancelled, row.refused) == (3, 2, 1, 1, 1)
    assert (row.lost, row.doubled) == (0, 0)


def test_an_accepted_order_missing_or_never_final_is_lost(row_of):
    row = row_of([("t-1", "t-1", "completed", 202, "A"), ("t-2", "t-2", "completed", 202, "B")],
                 _snap([_order("B", "t-2", "PENDING")], reserved=1))
    assert (row.accepted, row.lost, row.doubled) == (2, 2, 0)


def test_a_second_order_with_an_id_of_its_own_is_doubled(row_of):
    # The client's first try got no answer, its retry was told "A"; the first try made "B".
    row = row_of([("t-1", "t-1", "completed", "ReadTimeout"),
                  ("t-1", "t-1", "completed", 202, "A")],
                 _snap([_order("A", "t-1"), _order("B", "t-1")]))
    assert (row.sent, row.accepted, row.lost, row.doubled) == (1, 1, 0, 1)


def test_a_second_payment_and_stock_held_twice_are_doubled(row_of):
    row = row_of([("t-1", "t-1", "completed", 202, "A")],
                 _snap([_order("A", "t-1")], payments=[{"order_id": "A"}, {"order_id": "A"}],
                       reserved=1))
    assert (row.lost, row.doubled) == (0, 2)
