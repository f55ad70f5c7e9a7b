"""Shipping's HTTP side: health, the shipments inspection API, and its commands.

Twin: orders-choreo/shipping/api.py (and, for COMMANDS, orders-choreo/shipping/subscriptions.py).
"""
from shared.http import inspection
from shared.http.api_models import Shipment
from shared.http.openapi import COMMAND_ERRORS, REFUSED, describe
from shared.http.web import create_base_app
from shared.models.shipping import metadata
from shared.runtime.db import open_service_database
from shared.runtime.logs import setup
from commands import amqp
from commands.idempotency import command_routes
from commands.models import BookShipment, Settled

from shipping import handlers

SERVICE = "shipping"
FAILS = {**COMMAND_ERRORS, **REFUSED}
COMMANDS = [
    ("/shipments", describe(handlers.book_shipment, "Book one shipment for the order",
                            {201: Shipment, **FAILS}, body=BookShipment)),
    ("/shipments/<order_id>/cancel", describe(
        handlers.cancel_shipment, "Compensate: cancel the shipment", {200: Settled, **FAILS})),
]


def create_app():
    """Return the shipping API."""
    setup("shipping-api")
    session_factory = open_service_database(SERVICE, metadata)
    app = create_base_app(SERVICE, session_factory,
                          workers=amqp.health_roles(SERVICE))  # amqp: its consumers
    app.register_blueprint(inspection.shipments_listing())
    app.register_blueprint(command_routes(SERVICE, COMMANDS))
    amqp.start_if_amqp(SERVICE, session_factory, COMMANDS)  # the same COMMANDS by message
    return app
