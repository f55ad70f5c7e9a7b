"""Validate the public `POST /orders` body and turn it into a clean command.

The body's shape is one pydantic model, `OrderRequest`: the same class validates the request
and, as JSON Schema, documents it in every `/openapi.json` (shared/http/openapi.py). What pydantic
reports is translated into the API's own field paths and messages (`items[0].quantity`:
"must be from 1 to 100"), so the client still gets one 400 listing every broken field.
"""
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic import ValidationError as PydanticError

from shared.domain import catalog

MAX_BODY_BYTES = 64 * 1024
MAX_LINES = 20
MAX_QUANTITY = 100
ADDRESS_FIELDS = ("name", "line1", "city", "postcode", "country")
COUNTRY_RULE = "must be a two-letter ISO country code"
OBJECTS = ("payment", "shipping_address")


class ValidationError(Exception):
    """The request body breaks one or more rules; `fields` maps each path to its problem."""

    def __init__(self, fields):
        super().__init__("invalid order request")
        self.fields = fields


def text(max_length):
    """A string of 1 to max_length characters, not all blank (no type coercion)."""
    return Annotated[StrictStr, Field(min_length=1, max_length=max_length, pattern=r"\S")]


Sku = Literal[tuple(sorted(catalog.PRODUCTS))]


class RequestedLine(BaseModel):
    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]


class CardPayment(BaseModel):
    card_token: text(64) = Field(examples=["tok_visa", catalog.DECLINED_CARD_TOKEN])


class ShippingAddress(BaseModel):
    name: text(200)
    line1: text(200)
    city: text(200)
    postcode: text(200)
    country: Annotated[StrictStr, Field(pattern="^[A-Za-z]{2}$", examples=["DE", "AQ"])]


class OrderRequest(BaseModel):
    """The body of POST /orders. Unknown members are ignored (a tolerant reader)."""
    model_config = ConfigDict(extra="ignore")

    customer_id: text(64) = Field(examples=["cust-42"])
    items: list[RequestedLine] = Field(min_length=1, max_length=MAX_LINES)
    payment: CardPayment
    shipping_address: ShippingAddress


@dataclass(frozen=True)
class PlaceOrder:
    customer_id: str
    items: list
    card_token: str
    shipping_address: dict


def validate_order_request(body):
    """Return a PlaceOrder for a valid body, or raise ValidationError listing every problem."""
    if not isinstance(body, dict):
        raise ValidationError({"body": "must be a JSON object"})
    try:
        order = OrderRequest.model_validate(body)
    except PydanticError as exc:
        raise ValidationError(field_errors(exc)) from None
    return PlaceOrder(order.customer_id, [line.model_dump() for line in order.items],
                      order.payment.card_token, order.shipping_address.model_dump())


def field_errors(exc):
    """Map pydantic's errors to {"items[0].quantity": "must be ..."}, one problem per field."""
    fields = {}
    for problem in exc.errors():
        path = _path(problem["loc"])
        fields.setdefault(path, _message(path, problem))
    return fields


def _path(loc):
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path.lstrip(".") or "body"


def _message(path, problem):
    kind, ctx = problem["type"], problem.get("ctx", {})
    if path == "items":
        return f"must be a list of 1 to {MAX_LINES} lines"
    if path.endswith(".sku"):
        return "unknown SKU"
    if path.endswith(".quantity"):
        return "must be an integer" if kind in ("int_type", "missing") else \
            f"must be from 1 to {MAX_QUANTITY}"
    if kind in ("model_type", "model_attributes_type", "dict_type") or path in OBJECTS:
        return "must be an object"
    if path.endswith(".country"):
        return "must be a non-empty string" if kind in ("missing", "string_type") else COUNTRY_RULE
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    return "must be a non-empty string"
