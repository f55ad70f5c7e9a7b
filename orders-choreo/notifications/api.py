"""Notifications' HTTP side: health and the inspection API (twin: orders-orch/notifications/api.py)."""
from shared.http import inspection
from shared.http.web import create_base_app
from shared.models.notifications import metadata
from shared.runtime.db import open_service_database
from shared.runtime.logs import setup

from notifications.subscriptions import QUEUE


def create_app():
    """Return the notifications API; healthy while its worker consumes and relays."""
    setup("notifications-api")
    session_factory = open_service_database("notifications", metadata)
    app = create_base_app("notifications", session_factory,
                          workers=(f"consumer:{QUEUE}", "relay"))
    app.register_blueprint(inspection.notifications_listing())
    return app
