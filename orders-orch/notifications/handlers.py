"""Notifications' command handler: tell the customer the outcome, once per order.

Twin: orders-choreo/notifications/handlers.py, where it reacts to the outcome events instead.
"""
from flask import abort

from shared.domain import notifications
from commands.idempotency import require

OUTCOMES = ("completed", "cancelled")


def notify_customer(session, command):
    """Send the outcome notification unless this order already has one."""
    require(command, order_id=str, customer_id=str, outcome=str)
    if command["outcome"] not in OUTCOMES:
        abort(400, f"outcome must be one of {', '.join(OUTCOMES)}")
    note, sent_now = notifications.notify(session, command["order_id"], command["customer_id"],
                                          command["outcome"], command.get("reason"))
    return 201, {**note, "sent_now": sent_now}
