"""The read-only inspection API of each service, the same in both variants.

An audit from outside checks the invariants through these routes alone, so they are written
once here and mounted by each variant's `api.py`.
"""
from flask import Blueprint, request

from shared.domain import inventory, notifications, payments, shipping
from shared.domain.pages import page
from shared.http import api_models
from shared.http.openapi import documented
from shared.http.web import PAGE_QUERY, page_args, paginated, sessions
from shared.models import inventory as inventory_tables
from shared.models import notifications as notification_tables
from shared.models import payments as payment_tables
from shared.models import shipping as shipping_tables
from shared.runtime.db import read_only


def _listing(name, path, table, key, to_dict, model):
    """Return a blueprint serving GET `path`: filtered by ?order_id=, else paginated."""
    blueprint = Blueprint(name, __name__)

    @blueprint.get(path)
    @documented(f"List {name}, optionally of one order (read-only, for the audit)",
                {200: api_models.page_of(model)},
                query={**PAGE_QUERY, "order_id": {"type": "string"}})
    def listing():
        limit, after = page_args()
        order_id = request.args.get("order_id")
        where = table.c.order_id == order_id if order_id else None
        with read_only(sessions()) as session:
            rows, next_after = page(session, table, key, limit, after, where)
        return paginated(f"{name}.listing", [to_dict(r) for r in rows], next_after, limit)

    return blueprint


def stock():
    """GET /stock: initial, available, reserved and committed units per SKU."""
    table = inventory_tables.stock
    blueprint = Blueprint("stock", __name__)

    @blueprint.get("/stock")
    @documented("Initial, available, reserved and committed units per SKU",
                {200: api_models.page_of(api_models.StockItem)}, query=PAGE_QUERY)
    def listing():
        limit, after = page_args()
        with read_only(sessions()) as session:
            rows, next_after = page(session, table, table.c.sku, limit, after)
        return paginated("stock.listing", [inventory.stock_item(r) for r in rows], next_after,
                         limit)

    return blueprint


def payments_listing():
    """GET /payments[?order_id=]."""
    table = payment_tables.payments
    return _listing("payments", "/payments", table, table.c.payment_id, payments.to_dict,
                    api_models.Payment)


def shipments_listing():
    """GET /shipments[?order_id=]."""
    table = shipping_tables.shipments
    return _listing("shipments", "/shipments", table, table.c.shipment_id, shipping.to_dict,
                    api_models.Shipment)


def notifications_listing():
    """GET /notifications[?order_id=]."""
    table = notification_tables.notifications
    return _listing("notifications", "/notifications", table, table.c.notification_id,
                    notifications.to_dict, api_models.Notification)
