"""The public order API (choreographed): store the order and its OrderPlaced event, answer 202.

The request ends as soon as the order is stored: the saga runs on in the other services,
driven by events. Twin: orders-orch/orders/api.py, which waits for the orchestrator.
"""
from flask import Blueprint, abort, g, jsonify
from sqlalchemy import select

from shared.domain import orders
from shared.http import orders_api
from shared.http import openapi
from shared.http.api_models import Order
from shared.http.openapi import documented
from shared.http.web import create_base_app, sessions
from shared.models.base import iso
from shared.models.orders import metadata, timeline
from shared.runtime.db import open_service_database, read_only
from shared.runtime.logs import setup

from orders import handlers
from orders.subscriptions import QUEUE, TRACKER_QUEUE

routes = Blueprint("orders", __name__)


@routes.post("/orders")
@documented("Place an order: 202 with it PENDING; the saga goes on through events",
            {202: Order, **orders_api.PLACED}, **orders_api.PLACE_ORDER)
def place_order():
    """Accept an order: 202 with the PENDING order; the saga goes on asynchronously."""
    command, body, key = orders_api.read_order_request()
    order, _created = orders_api.store_order(
        command, body, key, g.correlation_id,
        on_created=lambda session, row: handlers.on_order_stored(session, row, g.correlation_id))
    return jsonify(order), 202, {"Location": f"/orders/{order['order_id']}"}


@routes.get("/orders/<order_id>/timeline")
@documented(**orders_api.TIMELINE)
def order_timeline(order_id):
    """Every step of this order's saga, ordered by when its sender says it happened (the
    event's occurred_at, the sender's clock), then by when the line was written. The lines come
    from the tracker, and, for a final order, from the transaction that settled it, which
    writes the trail the outcome event carries (Trade-off 53): the tracker may be behind."""
    with read_only(sessions()) as session:
        if orders.get(session, order_id) is None:
            abort(404, f"no order {order_id}")
        rows = session.execute(select(timeline).where(timeline.c.order_id == order_id)
                               .order_by(timeline.c.at, timeline.c.id)).mappings().all()
    steps = [{"at": iso(r["at"]), "service": r["service"], "step": r["name"],
              "outcome": r["outcome"], "correlation_id": r["correlation_id"]} for r in rows]
    return jsonify({"order_id": order_id, "steps": steps})


def create_app():
    """Return the public order API; healthy while the orders worker consumes and relays."""
    setup("orders-api")
    session_factory = open_service_database("orders", metadata)
    app = create_base_app("orders", session_factory,
                          workers=(f"consumer:{QUEUE}", f"consumer:{TRACKER_QUEUE}", "relay"))
    orders_api.register_error_handlers(app)
    app.register_blueprint(orders_api.reading_routes())
    app.register_blueprint(routes)
    openapi.browsable(app)
    return app
