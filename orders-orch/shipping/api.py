"""Shipping's HTTP side: health, the shipments inspection API, and its commands.

Twin: orders-choreo/shipping/api.py (and, for COMMANDS, orders-choreo/shipping/subscriptions.py).
"""
from shared import inspection
from shared.db import open_service_database
from shared.idempotency import command_routes
from shared.logs import setup
from shared.models.shipping import metadata
from shared.web import create_base_app

from shipping import handlers

SERVICE = "shipping"
COMMANDS = [
    ("/shipments", handlers.book_shipment),
    ("/shipments/<order_id>/cancel", handlers.cancel_shipment),
]


def create_app():
    """Return the shipping API."""
    setup("shipping-api")
    app = create_base_app(SERVICE, open_service_database(SERVICE, metadata))
    app.register_blueprint(inspection.shipments_listing())
    app.register_blueprint(command_routes(SERVICE, COMMANDS))
    return app
