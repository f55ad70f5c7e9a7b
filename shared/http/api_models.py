"""The shapes every HTTP API of both variants answers with, and the field types they are made of.

Each class is the one source of truth for its shape: openapi.py turns it into the JSON Schema
of `/openapi.json`. The orchestrated commands' bodies (orders-orch/commands/models.py) are
built from the same field types. The request of POST /orders lives in validation.py. Response
models describe; the code that builds the answers (shared/domain/*.to_dict) is checked against
them by schemathesis (tests/contract/).
"""
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

MAX_UNITS = 1_000_000  # no line or stock figure in the catalog exceeds this
# Trade-off 61: a body's limits are the database's: an amount is at most what the 32-bit
# INTEGER columns it lands in hold (payments.amount_cents, orders.total_cents), so a larger one
# is a 400 from the model, not a 500 from PostgreSQL (SQLite would have stored it). It keeps
# the columns and every existing database as they are; it costs amounts above 21 million
# euros, which no order of the catalog reaches (the credit limit is 500,000 cents). A larger
# limit means BigInteger columns first, then this number.
MAX_CENTS = 2**31 - 1

Id = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Cents = Annotated[StrictInt, Field(ge=0, le=MAX_CENTS)]
Units = Annotated[StrictInt, Field(ge=0, le=MAX_UNITS)]
Time = Annotated[str, Field(description="ISO 8601, UTC", examples=["2026-11-26T07:20:00.000Z"])]
Reason = Literal["out_of_stock", "payment_declined", "shipping_unavailable"]


class Open(BaseModel):
    """A shape that may grow: a reader ignores members it does not know (tolerant reader)."""
    model_config = ConfigDict(extra="allow")


# --- the one error shape --------------------------------------------------------------------

class ErrorDetail(Open):
    code: str = Field(examples=["invalid_request"])
    message: str
    fields: dict[str, str] | None = Field(None, description="field path -> its problem")


class Error(Open):
    error: ErrorDetail


class Health(Open):
    status: Literal["ok", "unavailable"]
    problems: list[str] | None = None
    transport: Literal["http", "amqp"] | None = None  # the orchestrator's ORCH_TRANSPORT


class OutboxState(Open):
    """The rows of the service's outbox not sent yet (read-only, for the audit's quiet)."""
    unsent: StrictInt = Field(ge=0, examples=[0])


def page_of(item):
    """Return the model of one page of `item`s with the URL of the next (null on the last)."""
    return type(f"{item.__name__}Page", (Open,), {
        "__annotations__": {"items": list[item], "next": str | None},
        "__doc__": f"A page of {item.__name__}s; `next` is the URL of the next page."})


# --- orders ---------------------------------------------------------------------------------

class OrderLine(Open):
    sku: str
    quantity: StrictInt
    unit_price_cents: Cents


class Order(Open):
    order_id: str
    status: Literal["PENDING", "COMPLETED", "CANCELLED"]
    reason: Reason | None
    customer_id: str
    items: list[OrderLine]
    total_cents: Cents
    currency: str = Field(examples=["EUR"])
    created_at: Time
    updated_at: Time


class Step(Open):
    at: Time
    service: str
    step: str
    outcome: str | None
    correlation_id: str | None


class Timeline(Open):
    order_id: str
    steps: list[Step]


MAX_AWAITED = 500  # ids in one POST /orders/outcomes: about 20 KB, well inside the 64 KiB body


class OutcomesRequest(BaseModel):
    """The body of POST /orders/outcomes: the orders whose outcomes the client asks for."""
    model_config = ConfigDict(extra="ignore")

    order_ids: list[Id] = Field(min_length=1, max_length=MAX_AWAITED)


class Outcomes(Open):
    """The asked orders by where they stand: whole when final, by id otherwise."""
    final: list[Order]
    pending: list[str]
    unknown: list[str]


# --- inspection -----------------------------------------------------------------------------

class StockItem(Open):
    sku: str
    initial: Units
    available: StrictInt
    reserved: StrictInt
    committed: StrictInt


class Payment(Open):
    payment_id: str
    order_id: str
    amount_cents: Cents
    currency: str
    status: Literal["captured", "refunded", "declined"]
    decline_reason: str | None


class Shipment(Open):
    shipment_id: str
    order_id: str
    country: str
    status: Literal["booked", "cancelled"]


class Notification(Open):
    notification_id: str
    order_id: str
    customer_id: str
    outcome: Literal["completed", "cancelled"]
    reason: str | None
    sent_at: Time
