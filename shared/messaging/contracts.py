"""Versioned event contracts: the fields each event type promises, and their types.

Producers check every event before writing it to the outbox; consumers check what they
receive. Both are tolerant readers: a newer version with extra fields still passes, as long
as the fields of the contract are there with the right types. Removing or retyping a field
needs a new event type instead.
"""
from dataclasses import dataclass

from shared.http.api_models import MAX_CENTS

ORDER_FACTS = {"order_id": str, "customer_id": str, "items": list, "total_cents": int,
               "currency": str, "card_token": str, "shipping_address": dict}
OUTCOME = {"order_id": str, "customer_id": str, "reason": str}


@dataclass(frozen=True)
class Contract:
    version: int
    fields: dict


CONTRACTS = {
    "order.placed": Contract(1, ORDER_FACTS),
    "stock.reserved": Contract(1, ORDER_FACTS),
    "stock.rejected": Contract(1, OUTCOME),
    "payment.captured": Contract(1, {**ORDER_FACTS, "payment_id": str}),
    "payment.declined": Contract(1, OUTCOME),
    "shipment.booked": Contract(1, {"order_id": str, "customer_id": str, "shipment_id": str}),
    "shipment.rejected": Contract(1, OUTCOME),
    "payment.refunded": Contract(1, OUTCOME),
    "stock.released": Contract(1, OUTCOME),
    "stock.committed": Contract(1, {"order_id": str, "customer_id": str}),
    "order.completed": Contract(1, {"order_id": str, "customer_id": str, "total_cents": int}),
    "order.cancelled": Contract(1, OUTCOME),
    "notification.sent": Contract(1, {"order_id": str, "notification_id": str, "outcome": str}),
    # The orchestrated variant's commands and replies under ORCH_TRANSPORT=amqp
    # (orders-orch/commands/amqp.py): an HTTP command's method, path and body, and its answer.
    "saga.command": Contract(1, {"key": str, "method": str, "path": str, "body": dict,
                                 "reply_to": str}),
    "saga.reply": Contract(1, {"key": str, "status": int, "body": dict}),
}


class ContractViolation(Exception):
    """An event whose data does not honour its contract."""


def check(envelope):
    """Raise ContractViolation unless the envelope honours its type's contract."""
    contract = CONTRACTS.get(envelope.type)
    if contract is None:
        raise ContractViolation(f"unknown event type {envelope.type!r}")
    # exercise: tolerant-reader begin
    if envelope.version < contract.version:
        raise ContractViolation(f"{envelope.type} v{envelope.version} is older than "
                                f"v{contract.version}")
    problems = [f"{name} must be {kind.__name__}" for name, kind in contract.fields.items()
                if not _is(envelope.data.get(name), kind)]
    # exercise: tolerant-reader end
    if problems:
        raise ContractViolation(f"{envelope.type}: " + "; ".join(problems))


def _is(value, kind):
    if kind is int:  # an amount in cents, kept in a 32-bit column (or a reply's HTTP status)
        return type(value) is int and 0 <= value <= MAX_CENTS
    return isinstance(value, kind)
