"""A fresh SQLite database holding every service's tables: the one real part unit tests use."""
from shared.models import inventory as inventory_tables
from shared.models import notifications as notification_tables
from shared.models import orders as order_tables
from shared.models import payments as payment_tables
from shared.models import plumbing
from shared.models import shipping as shipping_tables
from shared.runtime.db import make_engine, make_session_factory

ALL_METADATA = (order_tables.metadata, inventory_tables.metadata, payment_tables.metadata,
                shipping_tables.metadata, notification_tables.metadata, plumbing.metadata)


def new_session_factory(folder):
    """Return a session factory for a new SQLite file in `folder` with every service's tables."""
    engine = make_engine(f"sqlite:///{folder / 'unit.db'}")
    return make_session_factory(engine, *ALL_METADATA)


def dispose(session_factory):
    """Close the database connections behind a session factory."""
    session_factory.kw["bind"].dispose()
