"""The orchestrated variant's internal HTTP bodies: each command the orchestrator sends, each
answer it gets, and the orchestrator's own saga API.

The limits are the database's (an order id is at most 36 characters, a country 2): a body
over them is a 400 here instead of a database error, a 500, on PostgreSQL. Twin: the event
contracts of shared/messaging/contracts.py, which do the same job for the choreographed messages.
"""
from typing import Annotated, Literal

from pydantic import Field, StrictInt, StrictStr

from shared.http.api_models import Cents, Open, Reason, Step, Time
from shared.http.validation import Sku

OrderId = Annotated[StrictStr, Field(min_length=1, max_length=36)]
CustomerId = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Token = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Currency = Annotated[StrictStr, Field(min_length=3, max_length=3, examples=["EUR"])]


class CommandLine(Open):
    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=1_000_000)]


class ReserveStock(Open):
    order_id: OrderId
    items: list[CommandLine] = Field(min_length=1, max_length=20)


class ChargePayment(Open):
    order_id: OrderId
    customer_id: CustomerId
    amount_cents: Cents
    currency: Currency
    card_token: Token


class Destination(Open):
    country: Annotated[StrictStr, Field(pattern="^[A-Za-z]{2}$")]


class BookShipment(Open):
    order_id: OrderId
    destination: Destination


class NotifyCustomer(Open):
    order_id: OrderId
    customer_id: CustomerId
    outcome: Literal["completed", "cancelled"]
    reason: Reason | None = None


class SettleOrder(Open):
    status: Literal["COMPLETED", "CANCELLED"]
    reason: Reason | None = None


class Compensation(Open):
    """A compensation or commit needs nothing but the order id in its URL; any body is ignored."""


class SagaOrder(Open):
    order_id: OrderId
    customer_id: CustomerId
    items: list[CommandLine] = Field(min_length=1, max_length=20)
    total_cents: Cents
    currency: Currency
    card_token: Token
    shipping_address: Destination


class StartSaga(Open):
    order: SagaOrder


# --- answers --------------------------------------------------------------------------------

class Reservation(Open):
    order_id: str
    status: str


class Settled(Open):
    """What a compensation or commit did: e.g. {"order_id": ..., "released": true}."""
    order_id: str


class SentNotification(Open):
    notification_id: str
    order_id: str
    outcome: str
    sent_now: bool


class Saga(Open):
    saga_id: str
    order_id: str
    shard: StrictInt
    state: str
    reason: str | None
    retries: StrictInt
    last_error: str | None
    archived: bool
    created_at: Time | None
    updated_at: Time | None


class SagaWithLog(Saga):
    log: list[Step]


class Lease(Open):
    shard: StrictInt
    owner: str | None
    expires_at: Time | None


class Shards(Open):
    replica: str
    items: list[Lease]

