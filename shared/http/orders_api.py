"""The public order API's parts that are the same in both variants: reading the request,
validating it, listing and fetching orders. Each variant's `orders/api.py` adds only what
differs: what happens after an order is stored.
"""
from flask import Blueprint, abort, jsonify, request

from shared.domain import orders
from shared.domain.pages import page
from shared.http import order_waits
from shared.http.api_models import Order, Outcomes, OutcomesRequest, Timeline, page_of
from shared.http.openapi import documented
from shared.http.validation import OrderRequest, ValidationError, validate_order_request
from shared.http.web import PAGE_QUERY, error, page_args, paginated, sessions
from shared.models.orders import orders as orders_table
from shared.runtime.db import read_only, transaction

MAX_KEY_LENGTH = 200
STATUSES = [orders.PENDING, orders.COMPLETED, orders.CANCELLED]
PLACE_ORDER = {"body": OrderRequest, "validate": False,  # read_order_request validates with it
               "headers": {"Idempotency-Key": {"type": "string", "minLength": 1,
                                               "maxLength": MAX_KEY_LENGTH}}}
PLACED = {422: "this Idempotency-Key was used with a different body",
          429: "shedding load: retry after Retry-After seconds"}
TIMELINE = {"summary": "Every step of this order's saga, in order", "responses": {200: Timeline}}


def read_order_request():
    """Return (command, body, idempotency key) of a POST /orders, or raise a 4xx."""
    if not request.is_json:
        abort(415, "the body must be JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if body is None:
        raise ValidationError({"body": "malformed JSON"})
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValidationError({"Idempotency-Key": f"must be 1 to {MAX_KEY_LENGTH} characters"})
    return validate_order_request(body), body, key


def store_order(command, body, key, correlation_id, on_created):
    """Store the order (once per Idempotency-Key); call on_created(session, row) in the same
    transaction when it is new. Return (order, created)."""
    with transaction(sessions()) as session:
        row, created = orders.store(session, command, correlation_id, key,
                                    orders.request_hash(body))
        if created:
            # Trade-off 115: the saga starts from the row as this transaction inserted it, not
            # from a read of it: one statement fewer per order, 8% of the orders API's samples
            # in a profile of POSTs in a row. The cost: a column the database fills in by
            # itself (a default, a trigger) would be missing from it; the orders table has
            # none, and tests/unit/test_domain.py compares the row with what a read finds.
            on_created(session, row)
        return orders.to_dict(row), created


def register_error_handlers(app):
    """Map validation and idempotency errors to 400 and 422."""
    app.register_error_handler(
        ValidationError, lambda exc: error(400, "invalid_request", "the order request is invalid",
                                           exc.fields))
    app.register_error_handler(
        orders.IdempotencyConflict,
        lambda exc: error(422, "idempotency_key_reused",
                          "this Idempotency-Key was used with a different body"))


def reading_routes():
    """Return a blueprint with GET /orders, GET /orders/<id> and POST /orders/outcomes (both of
    which may wait for the outcome: shared/http/order_waits.py)."""
    blueprint = Blueprint("orders_read", __name__)

    @blueprint.get("/orders")
    @documented("List orders, optionally by status, a page at a time", {200: page_of(Order)},
                query={**PAGE_QUERY, "status": {"type": "string", "enum": STATUSES}})
    def listing():
        limit, after = page_args()
        status = request.args.get("status")
        if status and status not in (orders.PENDING, orders.COMPLETED, orders.CANCELLED):
            raise ValidationError({"status": "must be PENDING, COMPLETED or CANCELLED"})
        where = orders_table.c.status == status if status else None
        with read_only(sessions()) as session:
            rows, next_after = page(session, orders_table, orders_table.c.order_id, limit, after,
                                    where)
        return paginated("orders_read.listing", [orders.to_dict(r) for r in rows], next_after,
                         limit)

    @blueprint.get("/orders/<order_id>")
    @documented("One order with its status and, when cancelled, the reason; with ?wait=<s>, "
                "as soon as it is no longer PENDING or when the wait is over",
                {200: Order}, query={"wait": order_waits.wait_query()})
    def one(order_id):
        wait_s = order_waits.wait_arg()
        order = _one(order_id)
        if not wait_s or order["status"] != orders.PENDING:
            return jsonify(order)
        try:
            final = order_waits.this_process().wait([order_id], wait_s).get(order_id)
        except order_waits.NoFreeSlot:
            return jsonify(order), 200, {order_waits.REFUSED_HEADER: order_waits.REFUSED_SLOTS}
        return jsonify(final or _one(order_id))  # the time ran out: the order as it is now

    @blueprint.post("/orders/outcomes")
    @documented("The outcomes of many orders at once: those final, those still PENDING, those "
                "unknown; with ?wait=<s>, as soon as one of them is final or when the wait is "
                "over. A safe read (the body only names the orders), sent as a POST because "
                "hundreds of ids do not fit in a URL", {200: Outcomes}, body=OutcomesRequest,
                query={"wait": order_waits.wait_query()})
    def outcomes():
        wait_s = order_waits.wait_arg()
        order_ids = list(dict.fromkeys(request.get_json()["order_ids"]))  # each once, in order
        with read_only(sessions()) as session:
            final, pending = order_waits.final_and_pending(session, order_ids)
        refused = {}
        if wait_s and pending and not final:
            try:
                final = order_waits.this_process().wait(pending, wait_s)
            except order_waits.NoFreeSlot:
                refused = {order_waits.REFUSED_HEADER: order_waits.REFUSED_SLOTS}
            pending = [i for i in pending if i not in final]
        known = final.keys() | set(pending)
        return jsonify({"final": [final[i] for i in order_ids if i in final], "pending": pending,
                        "unknown": [i for i in order_ids if i not in known]}), 200, refused

    blueprint.record_once(order_waits.install)
    return blueprint


def _one(order_id):
    """Return one order as the API shows it, or answer 404."""
    with read_only(sessions()) as session:
        order = orders.get(session, order_id)
    if order is None:
        abort(404, f"no order {order_id}")
    return order
