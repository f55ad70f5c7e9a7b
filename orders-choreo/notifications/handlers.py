"""Notifications' reaction to events: tell the customer the outcome, once per order.

Twin: orders-orch/notifications/handlers.py, where the orchestrator asks for it as a saga step.
"""
from shared.domain import notifications
from shared.messaging.outbox import emit

SERVICE = "notifications"
OUTCOMES = {"order.completed": "completed", "order.cancelled": "cancelled"}


def on_order_finished(session, event):
    """Send the outcome notification unless this order already has one."""
    data = event.data
    note, sent_now = notifications.notify(session, data["order_id"], data["customer_id"],
                                          OUTCOMES[event.type], data.get("reason"))
    if sent_now:
        emit(session, event, SERVICE, "notification.sent",
             {"order_id": data["order_id"], "notification_id": note["notification_id"],
              "outcome": note["outcome"]})
