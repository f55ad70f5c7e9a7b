"""Inventory's HTTP side: health, the stock inspection API, and its commands.

Twin: orders-choreo/inventory/api.py. The COMMANDS table is the twin of the choreographed
service's subscriptions.py: there events are routed to handlers, here URLs are.
"""
from shared import inspection
from shared.db import open_service_database, transaction
from shared.domain import inventory
from shared.idempotency import command_routes
from shared.logs import setup
from shared.models.inventory import metadata
from shared.web import create_base_app

from inventory import handlers

SERVICE = "inventory"
COMMANDS = [
    ("/reservations", handlers.reserve_stock),
    ("/reservations/<order_id>/release", handlers.release_stock),
    ("/reservations/<order_id>/commit", handlers.commit_stock),
]


def create_app():
    """Return the inventory API, its stock filled from the catalog."""
    setup("inventory-api")
    session_factory = open_service_database(SERVICE, metadata)
    with transaction(session_factory) as session:
        inventory.seed(session)
    app = create_base_app(SERVICE, session_factory)
    app.register_blueprint(inspection.stock())
    app.register_blueprint(command_routes(SERVICE, COMMANDS))
    return app
