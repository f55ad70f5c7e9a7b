"""Payments' HTTP side: health, the payments inspection API, and its commands.

Twin: orders-choreo/payments/api.py (and, for COMMANDS, orders-choreo/payments/subscriptions.py).
"""
from shared.http import inspection
from shared.http.api_models import Payment
from shared.http.openapi import COMMAND_ERRORS, REFUSED, describe
from shared.http.web import create_base_app
from shared.models.payments import metadata
from shared.runtime.db import open_service_database
from shared.runtime.logs import setup
from commands import amqp
from commands.idempotency import command_routes
from commands.models import ChargePayment, Settled

from payments import handlers

SERVICE = "payments"
FAILS = {**COMMAND_ERRORS, **REFUSED}
COMMANDS = [
    ("/payments", describe(handlers.charge_payment, "Charge the order total once",
                           {201: Payment, **FAILS}, body=ChargePayment)),
    ("/payments/<order_id>/refund", describe(
        handlers.refund_payment, "Compensate: refund the captured charge", {200: Settled, **FAILS})),
]


def create_app():
    """Return the payments API."""
    setup("payments-api")
    session_factory = open_service_database(SERVICE, metadata)
    app = create_base_app(SERVICE, session_factory,
                          workers=amqp.health_roles(SERVICE))  # amqp: its consumers
    app.register_blueprint(inspection.payments_listing())
    app.register_blueprint(command_routes(SERVICE, COMMANDS))
    amqp.start_if_amqp(SERVICE, session_factory, COMMANDS)  # the same COMMANDS by message
    return app
