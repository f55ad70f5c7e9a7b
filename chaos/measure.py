"""One row of the results table: what a scenario's clients sent and what became of it, counted
from the clients' ledger (audit/ledger.py), not from the orders that happen to exist.

- sent: order requests (Idempotency-Keys) the clients made; accepted: keys answered 2xx.
- completed, cancelled: accepted orders in that final status once the variant was quiet.
- lost: accepted keys whose order never reached a final status, or does not exist.
- doubled: work done twice: a key answered with two orders, an order nobody asked for (a
  client's retry that made a second order has an id of its own), a second payment, shipment
  or notification for one order, and units of stock held or sold twice (the load buys one unit
  per order, so one unit is one order).
- refused: keys never accepted, though the client retried until its deadline.
"""
from collections import Counter
from dataclasses import dataclass, field

from audit import ledger as ledgers
from audit.fetch import snapshot


@dataclass
class Row:
    scenario: str
    variant: str
    db: str = "sqlite"
    sent: int = 0
    accepted: int = 0
    completed: int = 0
    cancelled: int = 0
    lost: int = 0
    doubled: int = 0
    refused: int = 0
    drain_s: float = 0.0
    passed: bool = False
    notes: list = field(default_factory=list)


def measure(row, urls, ledger_path):
    """Fill the row's counts from the ledger and one snapshot of the inspection API."""
    snap = snapshot(urls)
    scope, attempts = ledgers.read(ledger_path)
    keys = ledgers.requests_by_key(attempts)
    by_id = {o["order_id"]: o for o in snap["orders"]}
    statuses = Counter(by_id[i]["status"] if i in by_id else "missing"
                       for v in keys.values() for i in sorted(v["order_ids"])[:1])
    row.sent = len(keys)
    row.accepted = sum(1 for v in keys.values() if v["order_ids"])
    row.refused = row.sent - row.accepted
    row.completed, row.cancelled = statuses["COMPLETED"], statuses["CANCELLED"]
    row.lost = row.accepted - row.completed - row.cancelled
    row.doubled = doubled_effects(snap) + doubled_orders(scope, keys, snap)
    return row


def doubled_orders(scope, keys, snap):
    """Count orders beyond one per key: keys answered twice, and orders no request explains."""
    _, _, twice = ledgers.one_order_per_key(keys)
    _, _, unasked = ledgers.no_order_unasked(scope, keys, snap)
    return len(twice) + len(unasked)


def doubled_effects(snap):
    """Count effects done twice anywhere in the system (see the module docstring)."""
    extra = 0
    for kind in ("payments", "shipments", "notifications"):
        per_order = Counter(item["order_id"] for item in snap[kind])
        extra += sum(n - 1 for n in per_order.values() if n > 1)
    units = {"COMPLETED": Counter(), "PENDING": Counter(), "CANCELLED": Counter()}
    for order in snap["orders"]:
        for line in order["items"]:
            units[order["status"]][line["sku"]] += line["quantity"]
    for row in snap["stock"]:  # a PENDING order may still rightly hold its stock
        extra += max(row["reserved"] - units["PENDING"][row["sku"]], 0)
        extra += max(row["committed"] - units["COMPLETED"][row["sku"]], 0)
    return extra
