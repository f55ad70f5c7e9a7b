"""Fixtures for the unit tests: a small real SQLite database per test, no broker, no servers."""
import pytest

from shared.domain import inventory
from shared.runtime.db import transaction
from tests.unit.database import dispose, new_session_factory


@pytest.fixture
def session_factory(tmp_path):
    """Give a session factory for a fresh database with stock seeded from the catalog."""
    factory = new_session_factory(tmp_path)
    with transaction(factory) as session:
        inventory.seed(session)
    yield factory
    dispose(factory)


@pytest.fixture
def valid_body():
    """Give a POST /orders body that breaks no rule (a fresh copy per test)."""
    return {
        "customer_id": "cust-42",
        "items": [{"sku": "MUG-RED", "quantity": 2}],
        "payment": {"card_token": "tok_visa"},
        "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin",
                             "postcode": "10115", "country": "DE"},
    }
