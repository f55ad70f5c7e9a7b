"""The orders service's outcome command (orchestrated): it settles a PENDING order once, and
an order it does not know is a 404 that changes nothing."""
import pytest
from werkzeug.exceptions import NotFound

from shared.domain import orders
from shared.http.validation import PlaceOrder
from shared.runtime.db import read_only, transaction
from tests.support import ADDRESS, orch_modules


def placed(session_factory):
    command = PlaceOrder("cust-settle", [{"sku": "MUG-RED", "quantity": 1}], "tok_visa",
                         dict(ADDRESS))
    with transaction(session_factory) as session:
        return orders.place(session, command, "corr-settle")[0]["order_id"]


def settle(session_factory, order_id, **command):
    with orch_modules("orders.handlers") as (handlers,), transaction(session_factory) as session:
        return handlers.settle_order(session, command, order_id)


def test_a_pending_order_is_settled_once_and_answered_as_stored(session_factory):
    order_id = placed(session_factory)
    status, first = settle(session_factory, order_id, status="CANCELLED", reason="out_of_stock")
    assert status == 200 and first["changed"] is True
    assert (first["status"], first["reason"]) == ("CANCELLED", "out_of_stock")
    status, again = settle(session_factory, order_id, status="COMPLETED")
    assert status == 200 and again["changed"] is False and again["status"] == "CANCELLED"


def test_an_unknown_order_is_a_404_and_no_order_appears(session_factory):
    with pytest.raises(NotFound):
        settle(session_factory, "no-such-order", status="COMPLETED")
    with read_only(session_factory) as session:
        assert orders.get(session, "no-such-order") is None
