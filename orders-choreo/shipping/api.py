"""Shipping's HTTP side: health and the shipments inspection API (twin: orders-orch/shipping/api.py)."""
from shared.http import inspection
from shared.http.web import create_base_app
from shared.models.shipping import metadata
from shared.runtime.db import open_service_database
from shared.runtime.logs import setup

from shipping.subscriptions import QUEUE


def create_app():
    """Return the shipping API; healthy while its worker consumes and relays."""
    setup("shipping-api")
    session_factory = open_service_database("shipping", metadata)
    app = create_base_app("shipping", session_factory, workers=(f"consumer:{QUEUE}", "relay"))
    app.register_blueprint(inspection.shipments_listing())
    return app
