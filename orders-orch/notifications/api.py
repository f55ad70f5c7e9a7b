"""Notifications' HTTP side: health, the notifications inspection API, and its command.

Twin: orders-choreo/notifications/api.py (and, for COMMANDS, orders-choreo/notifications/subscriptions.py).
"""
from shared.http import inspection
from shared.http.openapi import COMMAND_ERRORS, describe
from shared.http.web import create_base_app
from shared.models.notifications import metadata
from shared.runtime.db import open_service_database
from shared.runtime.logs import setup
from commands import amqp
from commands.idempotency import command_routes
from commands.models import NotifyCustomer, SentNotification

from notifications import handlers

SERVICE = "notifications"
COMMANDS = [("/notifications", describe(
    handlers.notify_customer, "Tell the customer the outcome, once per order",
    {201: SentNotification, **COMMAND_ERRORS}, body=NotifyCustomer))]


def create_app():
    """Return the notifications API."""
    setup("notifications-api")
    session_factory = open_service_database(SERVICE, metadata)
    app = create_base_app(SERVICE, session_factory,
                          workers=amqp.health_roles(SERVICE))  # amqp: its consumers
    app.register_blueprint(inspection.notifications_listing())
    app.register_blueprint(command_routes(SERVICE, COMMANDS))
    amqp.start_if_amqp(SERVICE, session_factory, COMMANDS)  # the same COMMANDS by message
    return app
