"""Inventory's HTTP side: health, the stock inspection API, and its commands.

Twin: orders-choreo/inventory/api.py. The COMMANDS table is the twin of the choreographed
service's subscriptions.py: there events are routed to handlers, here URLs are.
"""
from shared.domain import inventory
from shared.http import inspection
from shared.http.openapi import COMMAND_ERRORS, REFUSED, describe
from shared.http.web import create_base_app
from shared.models.inventory import metadata
from shared.runtime.db import open_service_database, transaction
from shared.runtime.logs import setup
from commands import amqp
from commands.idempotency import command_routes
from commands.models import Reservation, ReserveStock, Settled

from inventory import handlers

SERVICE = "inventory"
FAILS = {**COMMAND_ERRORS, **REFUSED}
COMMANDS = [
    ("/reservations", describe(handlers.reserve_stock, "Hold stock for every line, or none",
                               {201: Reservation, **FAILS}, body=ReserveStock)),
    ("/reservations/<order_id>/release", describe(
        handlers.release_stock, "Compensate: give held stock back", {200: Settled, **FAILS})),
    ("/reservations/<order_id>/commit", describe(
        handlers.commit_stock, "Held stock becomes sold stock", {200: Settled, **FAILS})),
]


def create_app():
    """Return the inventory API, its stock filled from the catalog."""
    setup("inventory-api")
    session_factory = open_service_database(SERVICE, metadata)
    with transaction(session_factory) as session:
        inventory.seed(session)
    app = create_base_app(SERVICE, session_factory,
                          workers=amqp.health_roles(SERVICE))  # amqp: its consumers
    app.register_blueprint(inspection.stock())
    app.register_blueprint(command_routes(SERVICE, COMMANDS))
    amqp.start_if_amqp(SERVICE, session_factory, COMMANDS)  # the same COMMANDS by message
    return app
