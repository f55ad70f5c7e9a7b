"""Inventory's command handlers: reserve, release and commit stock when the orchestrator asks.

Twin: orders-choreo/inventory/handlers.py, where the same rules react to events instead.
Each handler gets the request body as a command and returns (HTTP status, answer).
"""
from flask import abort

from shared.domain import rules
from shared.domain import inventory
from commands.idempotency import rejected, require


def reserve_stock(session, command):
    """Hold stock for every line, or for none (409 out_of_stock)."""
    require(command, order_id=str, items=list)
    items = _lines(command["items"])
    if inventory.reserve(session, command["order_id"], items) == inventory.HELD:
        return 201, {"order_id": command["order_id"], "status": inventory.HELD}
    return rejected(rules.OUT_OF_STOCK, "not enough stock for every line")


def release_stock(session, _command, order_id):
    """Compensate: give held stock back (a no-op when nothing is held)."""
    return 200, {"order_id": order_id, "released": inventory.release(session, order_id)}


def commit_stock(session, _command, order_id):
    """The order will complete: held stock becomes sold stock."""
    return 200, {"order_id": order_id, "committed": inventory.commit(session, order_id)}


def _lines(items):
    good = [i for i in items if isinstance(i, dict) and isinstance(i.get("sku"), str)
            and type(i.get("quantity")) is int and i["quantity"] > 0]
    if not items or len(good) != len(items):
        abort(400, "items must be a non-empty list of {sku, quantity > 0}")
    return [{"sku": i["sku"], "quantity": i["quantity"]} for i in good]
