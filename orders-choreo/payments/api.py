"""Payments' HTTP side: health and the payments inspection API (twin: orders-orch/payments/api.py)."""
from shared.http import inspection
from shared.http.web import create_base_app
from shared.models.payments import metadata
from shared.runtime.db import open_service_database
from shared.runtime.logs import setup

from payments.subscriptions import QUEUE


def create_app():
    """Return the payments API; healthy while its worker consumes and relays."""
    setup("payments-api")
    session_factory = open_service_database("payments", metadata)
    app = create_base_app("payments", session_factory, workers=(f"consumer:{QUEUE}", "relay"))
    app.register_blueprint(inspection.payments_listing())
    return app
