"""One row of the results table: what a scenario's load sent and what became of it.

- sent: orders the clients tried to place; accepted: answered 2xx with an order id.
- completed, cancelled: accepted orders in that final status once the audit was quiet.
- lost: accepted orders that never reached a final status (or vanished).
- doubled: effects done twice: a second payment, shipment or notification for one order, plus
  units of stock held or sold twice (stock still reserved once quiet, or committed beyond what
  completed orders bought; the load buys one unit per order, so one unit is one order).
"""
from collections import Counter
from dataclasses import dataclass, field

from audit.fetch import snapshot


@dataclass
class Row:
    scenario: str
    variant: str
    sent: int = 0
    accepted: int = 0
    completed: int = 0
    cancelled: int = 0
    lost: int = 0
    doubled: int = 0
    drain_s: float = 0.0
    passed: bool = False
    notes: list = field(default_factory=list)


def measure(row, urls, accepted):
    """Fill the row's counts from one snapshot of the inspection API; return the row."""
    snap = snapshot(urls)
    by_id = {o["order_id"]: o for o in snap["orders"]}
    statuses = Counter(by_id[i]["status"] if i in by_id else "missing" for i in set(accepted))
    row.accepted = len(set(accepted))
    row.completed, row.cancelled = statuses["COMPLETED"], statuses["CANCELLED"]
    row.lost = row.accepted - row.completed - row.cancelled
    row.doubled = doubled_effects(snap)
    return row


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
