"""Validate the public `POST /orders` body and turn it into a clean command.

Every problem is collected per field, so the client gets one 400 listing all of them.
"""
from dataclasses import dataclass

from shared import catalog

MAX_BODY_BYTES = 64 * 1024
MAX_LINES = 20
MAX_QUANTITY = 100
ADDRESS_FIELDS = ("name", "line1", "city", "postcode", "country")


class ValidationError(Exception):
    """The request body breaks one or more rules; `fields` maps each path to its problem."""

    def __init__(self, fields):
        super().__init__("invalid order request")
        self.fields = fields


@dataclass(frozen=True)
class PlaceOrder:
    customer_id: str
    items: list
    card_token: str
    shipping_address: dict


def _text(value, path, errors, max_len=200):
    if not isinstance(value, str) or not value.strip():
        errors[path] = "must be a non-empty string"
    elif len(value) > max_len:
        errors[path] = f"must be at most {max_len} characters"
    return value


def _quantity(value, path, errors):
    if isinstance(value, bool) or not isinstance(value, int):
        errors[path] = "must be an integer"
    elif not 1 <= value <= MAX_QUANTITY:
        errors[path] = f"must be from 1 to {MAX_QUANTITY}"


def _items(items, errors):
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_LINES:
        errors["items"] = f"must be a list of 1 to {MAX_LINES} lines"
        return []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            errors[f"items[{n}]"] = "must be an object"
            continue
        sku = item.get("sku")
        if not isinstance(sku, str) or catalog.product(sku) is None:
            errors[f"items[{n}].sku"] = "unknown SKU"
        _quantity(item.get("quantity"), f"items[{n}].quantity", errors)
    return [{"sku": i.get("sku"), "quantity": i.get("quantity")} for i in items if isinstance(i, dict)]


def _address(address, errors):
    if not isinstance(address, dict):
        errors["shipping_address"] = "must be an object"
        return {}
    for name in ADDRESS_FIELDS:
        _text(address.get(name), f"shipping_address.{name}", errors)
    country = address.get("country")
    if "shipping_address.country" not in errors and (
            len(country) != 2 or not (country.isascii() and country.isalpha())):
        errors["shipping_address.country"] = "must be a two-letter ISO country code"
    return {name: address.get(name) for name in ADDRESS_FIELDS}


def validate_order_request(body):
    """Return a PlaceOrder for a valid body, or raise ValidationError listing every problem."""
    if not isinstance(body, dict):
        raise ValidationError({"body": "must be a JSON object"})
    errors = {}
    _text(body.get("customer_id"), "customer_id", errors, max_len=64)
    items = _items(body.get("items"), errors)
    payment = body.get("payment")
    if not isinstance(payment, dict):
        errors["payment"] = "must be an object"
    else:
        _text(payment.get("card_token"), "payment.card_token", errors, max_len=64)
    address = _address(body.get("shipping_address"), errors)
    if errors:
        raise ValidationError(errors)
    return PlaceOrder(body["customer_id"], items, payment["card_token"], address)
