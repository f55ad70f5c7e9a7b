"""The orders service's handlers: queue the handover of a new order, record a saga's outcome.

Twin: orders-choreo/orders/handlers.py, where the orders service settles an order from the
events it hears; here the orchestrator tells it the outcome with a command.
"""
from flask import abort

from orders import handover
from shared.domain import rules
from shared.domain import orders

OUTCOMES = (orders.COMPLETED, orders.CANCELLED)


def on_order_stored(session, order, correlation_id):
    """Queue the order's handover to the orchestrator (in the transaction that stored it)."""
    handover.add(session, order, correlation_id)


def settle_order(session, command, order_id):
    """Move a PENDING order to COMPLETED, or to CANCELLED with the saga's reason."""
    status, reason = command.get("status"), command.get("reason")
    if status not in OUTCOMES:
        abort(400, f"status must be one of {', '.join(OUTCOMES)}")
    if (status == orders.CANCELLED) != (reason in rules.REASONS):
        abort(400, f"a CANCELLED order needs a reason from {', '.join(rules.REASONS)}, "
                   "a COMPLETED one none")
    changed = orders.finish(session, order_id, status, reason)  # changes nothing if absent
    order = orders.get(session, order_id)
    if order is None:
        abort(404, f"no order {order_id}")
    return 200, {**order, "changed": changed}
