"""The public order API (orchestrated): store the order, hand it to the orchestrator, and
answer with its final status when the saga ends within the time budget.

201 with the final order; 202 PENDING when the orchestrator was slow or unreachable (the
handover loop makes sure it gets the order); 429 with Retry-After, and no order kept, when
the orchestrator sheds load. A replay (the same Idempotency-Key) answers for the same order,
and once it has said "accepted" that order stays (handover.keep). Twin:
orders-choreo/orders/api.py, which always answers 202.
"""
import logging

from flask import Blueprint, abort, g, jsonify

from orders import handover
from orders.orchestrator_client import fetch_saga
from shared.domain import orders
from shared.http import openapi, orders_api
from shared.http.api_models import Order
from shared.http.openapi import describe, documented
from shared.http.web import create_base_app, error, sessions
from shared.models.orders import metadata
from shared.runtime.db import open_service_database, read_only
from shared.runtime.logs import setup
from commands import amqp
from commands.idempotency import command_routes
from commands.models import SettleOrder

from orders import handlers

SERVICE = "orders"
COMMANDS = [("/orders/<order_id>/outcome", describe(  # internal: the orchestrator
    handlers.settle_order, "Record the saga's outcome (internal: the orchestrator)",
    {200: Order, **openapi.COMMAND_ERRORS}, body=SettleOrder))]
routes = Blueprint("orders", __name__)
log = logging.getLogger(__name__)


@routes.post("/orders")
@documented("Place an order: 201 in its final status, or 202 PENDING when the saga runs on",
            {201: Order, 202: Order, **orders_api.PLACED}, **orders_api.PLACE_ORDER)
def place_order():
    """Accept an order and answer 201 (final), 202 (PENDING) or 429 (shed, nothing kept)."""
    command, body, key = orders_api.read_order_request()
    order, created = orders_api.store_order(
        command, body, key, g.correlation_id,
        on_created=lambda session, row: handlers.on_order_stored(session, row, g.correlation_id))
    order_id = order["order_id"]
    order, retry_after = _hand_over(order_id) if created else _replayed(order_id)
    if order is None:
        return error(429, "overloaded", "the orchestrator is at capacity; retry later",
                     headers={"Retry-After": retry_after})
    status = 202 if order["status"] == orders.PENDING else 201
    return jsonify(order), status, {"Location": f"/orders/{order_id}"}


def _hand_over(order_id):
    """Hand a new order over; return (order, None), or (None, Retry-After) when it was shed
    and withdrawn."""
    answer = handover.hand_over(sessions(), order_id)
    if answer is not None and answer.status_code == 429 and _withdrawn(order_id):
        return None, answer.headers.get("Retry-After", "1")
    with read_only(sessions()) as session:
        return orders.get(session, order_id), None


def _replayed(order_id):
    """A replay (the same Idempotency-Key): make its order stay before answering for it
    (Trade-off 58); (None, "1") when the first request was shed and withdrew it first."""
    order = handover.keep(sessions(), order_id)
    return order, None if order else "1"


def _withdrawn(order_id):
    """The orchestrator shed this order's saga (429): withdraw the order if still ours."""
    log.info("order %s: shed by the orchestrator (429)", order_id)
    if handover.withdraw(sessions(), order_id):
        log.info("order %s: withdrawn", order_id)
        return True
    log.info("order %s: kept: its handover is no longer this request's", order_id)
    return False


@routes.get("/orders/<order_id>/timeline")
@documented(**{**orders_api.TIMELINE, "responses": {
    **orders_api.TIMELINE["responses"], 503: "no orchestrator replica answered"}})
def order_timeline(order_id):
    """Every step of this order's saga, from the orchestrator's saga log."""
    with read_only(sessions()) as session:
        if orders.get(session, order_id) is None:
            abort(404, f"no order {order_id}")
    answer = fetch_saga(order_id, g.correlation_id)
    if answer is None:
        return error(503, "orchestrator_unavailable", "no orchestrator replica answered")
    status, saga = answer
    steps = saga.get("log", []) if status == 200 else []  # 404: not handed over yet
    return jsonify({"order_id": order_id, "steps": steps})


def create_app():
    """Return the public order API and start this process's handover loop."""
    setup("orders-api")
    session_factory = open_service_database(SERVICE, metadata)
    app = create_base_app(SERVICE, session_factory,
                          workers=amqp.health_roles(SERVICE))  # amqp: its consumers
    orders_api.register_error_handlers(app)
    app.register_blueprint(orders_api.reading_routes())
    app.register_blueprint(routes)
    app.register_blueprint(command_routes(SERVICE, COMMANDS))
    openapi.browsable(app)
    handover.start_loop(session_factory)
    amqp.start_if_amqp(SERVICE, session_factory, COMMANDS)  # the same COMMANDS by message
    return app
