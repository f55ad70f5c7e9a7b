"""Inventory's HTTP side: health and the stock inspection API (twin: orders-orch/inventory/api.py)."""
from shared.http import inspection
from shared.http.web import create_base_app
from shared.models.inventory import metadata
from shared.runtime.db import open_service_database
from shared.runtime.logs import setup

from inventory.subscriptions import QUEUE


def create_app():
    """Return the inventory API; healthy while its worker consumes and relays."""
    setup("inventory-api")
    session_factory = open_service_database("inventory", metadata)
    app = create_base_app("inventory", session_factory, workers=(f"consumer:{QUEUE}", "relay"))
    app.register_blueprint(inspection.stock())
    return app
