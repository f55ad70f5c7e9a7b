"""A body's limits are the database's: every number a body or an event may carry fits the
column it lands in, on PostgreSQL too (a 32-bit INTEGER there; SQLite would store anything), so
an amount too large is a 400 from the model or a broken contract, never a 500 from the database.
"""
import pydantic
import pytest
from sqlalchemy import BigInteger

from shared.domain import catalog
from shared.http.api_models import MAX_CENTS, MAX_UNITS
from shared.http.validation import MAX_LINES, MAX_QUANTITY
from shared.messaging import contracts
from shared.messaging.envelope import Envelope
from shared.models.inventory import stock
from shared.models.orders import orders
from shared.models.payments import payments, refunds
from tests.support import tree_on_path

tree_on_path("orch")
from commands.models import ChargePayment, CommandLine, SagaOrder  # noqa: E402  (orders-orch/)

INT32_MAX = 2**31 - 1
CHARGE = {"order_id": "o-1", "customer_id": "c-1", "currency": "EUR", "card_token": "tok_visa"}
SAGA_ORDER = {"order_id": "o-1", "customer_id": "c-1", "items": [{"sku": "MUG-RED",
              "quantity": 1}], "currency": "EUR", "card_token": "tok_visa",
              "shipping_address": {"country": "DE"}}


def largest(column):
    """The largest integer a column holds on PostgreSQL."""
    return 2**63 - 1 if isinstance(column.type, BigInteger) else INT32_MAX


@pytest.mark.parametrize("column", [payments.c.amount_cents, refunds.c.amount_cents,
                                    orders.c.total_cents], ids=str)
def test_every_amount_a_body_may_carry_fits_its_column(column):
    assert MAX_CENTS <= largest(column)


@pytest.mark.parametrize("column", [stock.c.initial, stock.c.available, stock.c.reserved,
                                    stock.c.committed], ids=str)
def test_every_quantity_a_body_may_carry_fits_the_stock_columns(column):
    line_max = CommandLine.model_fields["quantity"].metadata
    assert MAX_UNITS <= largest(column)
    assert all(getattr(m, "le", 0) <= largest(column) for m in line_max)


def test_the_largest_order_the_public_api_accepts_fits_the_amount_columns():
    dearest = max(p.unit_price_cents for p in catalog.PRODUCTS.values())
    assert dearest * MAX_QUANTITY * MAX_LINES <= MAX_CENTS


@pytest.mark.parametrize("model, body, field", [(ChargePayment, CHARGE, "amount_cents"),
                                                (SagaOrder, SAGA_ORDER, "total_cents")])
def test_a_command_amount_the_column_cannot_hold_is_refused_by_the_model(model, body, field):
    model.model_validate({**body, field: INT32_MAX})
    with pytest.raises(pydantic.ValidationError, match=field):
        model.model_validate({**body, field: INT32_MAX + 1})


@pytest.mark.parametrize("total", [INT32_MAX + 1, 10**12, -1])
def test_an_event_whose_amount_no_column_can_hold_breaks_its_contract(total):
    data = {"order_id": "o-1", "customer_id": "c-1", "total_cents": total}
    with pytest.raises(contracts.ContractViolation, match="total_cents"):
        contracts.check(Envelope(type="order.completed", version=1, source="orders",
                                 correlation_id="c-1", data=data))
