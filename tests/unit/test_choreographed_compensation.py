"""The choreographed compensations, handler by handler on a real SQLite database: a refused
shipment refunds the charge and says so (payment.refunded), and a declined or refunded payment
gives the stock back and says so (stock.released).

Each handler emits its event whether or not it undid anything, so before these tests only a
whole end-to-end run noticed a missing refund or release (the customer charged for an order
that was cancelled, stock held for ever)."""
import pytest
from sqlalchemy import select

from shared.domain import inventory
from shared.messaging.envelope import Envelope
from shared.models.inventory import stock
from shared.models.payments import payments
from shared.models.plumbing import outbox
from shared.runtime.db import transaction
from tests.support import ADDRESS, choreo_modules
from tests.unit.database import dispose, new_session_factory

FACTS = {"order_id": "order-comp", "customer_id": "cust", "total_cents": 2500,
         "currency": "EUR", "items": [{"sku": "MUG-RED", "quantity": 2, "unit_price_cents": 1250}],
         "card_token": "tok_visa", "shipping_address": ADDRESS}


@pytest.fixture
def sessions(tmp_path):
    made = new_session_factory(tmp_path)
    with transaction(made) as session:
        inventory.seed(session)
    yield made
    dispose(made)


def _deliver(sessions, service, event_type, data):
    with choreo_modules(f"{service}.subscriptions") as (subscriptions,):
        event = Envelope(type=event_type, version=1, source="test", correlation_id="corr",
                         data=data)
        with transaction(sessions) as session:
            subscriptions.HANDLERS[event_type](session, event)


def _read(sessions, query):
    with sessions() as session:
        return session.execute(query).scalars().all()


def _emitted(sessions):
    return _read(sessions, select(outbox.c.routing_key).order_by(outbox.c.created_at))


def test_a_refused_shipment_refunds_the_charge_and_says_so(sessions):
    _deliver(sessions, "payments", "stock.reserved", FACTS)
    _deliver(sessions, "payments", "shipment.rejected",
             {"order_id": "order-comp", "customer_id": "cust", "reason": "shipping_unavailable"})
    assert _read(sessions, select(payments.c.status)) == ["refunded"]
    assert _emitted(sessions) == ["payment.captured", "payment.refunded"]


@pytest.mark.parametrize("cause, reason", [("payment.declined", "payment_declined"),
                                           ("payment.refunded", "shipping_unavailable")])
def test_a_failed_payment_or_a_refund_gives_the_stock_back_and_says_so(sessions, cause, reason):
    before = _read(sessions, select(stock.c.available).where(stock.c.sku == "MUG-RED"))
    _deliver(sessions, "inventory", "order.placed", FACTS)
    _deliver(sessions, "inventory", cause,
             {"order_id": "order-comp", "customer_id": "cust", "reason": reason})
    assert _read(sessions, select(stock.c.available).where(stock.c.sku == "MUG-RED")) == before
    assert _emitted(sessions) == ["stock.reserved", "stock.released"]
