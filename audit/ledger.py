"""The client's ledger: every order request a client sent, the answer it got and its
Idempotency-Key, one JSON line each; and the checks only a ledger makes possible.

The invariants (audit/invariants.py) look at the orders that exist, so they cannot see an order
that should exist and does not (a 202 whose order was never stored) nor one that should not (a
second order made by a client's retry of one request). Only the client knows what it asked for:

    {"scope": "burst-1712-"}                                        first line: whose orders
    {"key": "burst-1712-0", "customer_id": "burst-1712-0", "expect": "completed",
     "status": 202, "order_id": "8c1f...", "at": 1712000000.123}    one line per attempt

A `status` of null (or an exception's name) is an attempt with no answer: the client may
write one before it sends, as Locust does, since it can stop before the answer arrives.
`scope` is the prefix of every customer id the client used ("" when the client owns the
whole system): orders of other customers are not this ledger's business. Each key has a
customer id of its own: the orders API does not show an order's key, so the customer id is
what ties an order nobody was answered about to the one request that may have made it.
`at` is the line's wall clock (time.time()): from it a report tells which answers came during
an outage and how long each took (the answer's `at` minus its sent line's); older ledgers
have none.
"""
import json
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

# What an order of each outcome of DOMAIN.md must end as: (status, reason).
EXPECTED = {"completed": ("COMPLETED", None), "out_of_stock": ("CANCELLED", "out_of_stock"),
            "payment_declined": ("CANCELLED", "payment_declined"),
            "shipping_unavailable": ("CANCELLED", "shipping_unavailable")}
ACCEPTED = (200, 201, 202)


class Ledger:
    """Appends one line per attempt to a JSON-lines file; safe to share between threads."""

    def __init__(self, path, scope=None):
        """With a scope, start a new ledger (its first line); without, append to one."""
        self.path, self._lock = Path(path), threading.Lock()
        if scope is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"scope": scope}) + "\n")

    def record(self, key, customer_id, expect, status, order_id=None):
        """Record one attempt: the status answered (or the exception's name) and the order id."""
        line = json.dumps({"key": key, "customer_id": customer_id, "expect": expect,
                           "status": status, "order_id": order_id,
                           "at": round(time.time(), 3)})
        with self._lock, open(self.path, "a") as handle:
            handle.write(line + "\n")


def read(path):
    """Return (scope, attempts) of a ledger file."""
    lines = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return lines[0]["scope"], lines[1:]


def requests_by_key(attempts):
    """Return {key: {"customer_id", "expect", "order_ids": set of order ids answered}}."""
    keys = {}
    for attempt in attempts:
        mine = keys.setdefault(attempt["key"], {"customer_id": attempt["customer_id"],
                                                "expect": attempt["expect"], "order_ids": set()})
        if attempt["status"] in ACCEPTED and attempt["order_id"]:
            mine["order_ids"].add(attempt["order_id"])
    return keys


def tally(attempts, snap):
    """Return the exact counts a test compares: keys sent, accepted, and final outcomes."""
    orders = {o["order_id"]: o for o in snap["orders"]}
    keys = requests_by_key(attempts)
    accepted = {k: v for k, v in keys.items() if v["order_ids"]}
    finals = Counter(_ending(orders.get(next(iter(v["order_ids"])))) for v in accepted.values())
    return {"sent": len(keys), "accepted": len(accepted),
            "asked": dict(Counter(v["expect"] for v in accepted.values())), "ended": dict(finals)}


def _ending(order):
    if order is None:
        return "missing"
    return order["status"] if not order["reason"] else f"{order['status']}/{order['reason']}"


def checks(scope, attempts, snap):
    """Run every ledger check; return a list of (name, counts, violations)."""
    keys = requests_by_key(attempts)
    return [one_order_per_key(keys), accepted_orders_stored_and_final(keys, snap),
            no_order_unasked(scope, keys, snap), outcome_as_asked(keys, snap)]


def one_order_per_key(keys):
    """Every key was answered with one order, and no order was the answer to two keys."""
    bad = [f"key {k} answered with {len(v['order_ids'])} orders: {sorted(v['order_ids'])}"
           for k, v in keys.items() if len(v["order_ids"]) > 1]
    owners = defaultdict(list)
    for key, v in keys.items():
        for order_id in v["order_ids"]:
            owners[order_id].append(key)
    bad += [f"order {o} answered to keys {ks}" for o, ks in owners.items() if len(ks) > 1]
    return "one order per key", {"keys": len(keys), "answered": len(owners)}, bad


def accepted_orders_stored_and_final(keys, snap):
    """Every order a client was told was accepted exists, once, and is final."""
    orders = {o["order_id"]: o for o in snap["orders"]}
    bad = []
    for key, v in keys.items():
        for order_id in v["order_ids"]:
            order = orders.get(order_id)
            if order is None:
                bad.append(f"key {key}: accepted order {order_id} does not exist")
            elif order["status"] not in ("COMPLETED", "CANCELLED"):
                bad.append(f"key {key}: accepted order {order_id} is {order['status']}")
            elif order["customer_id"] != v["customer_id"]:
                bad.append(f"key {key}: order {order_id} belongs to {order['customer_id']}")
    accepted = sum(1 for v in keys.values() if v["order_ids"])
    return "every accepted order stored, final", {"accepted": accepted}, bad


def no_order_unasked(scope, keys, snap):
    """No order of this ledger's customers exists that no client request accounts for. An order
    nobody was answered about (the client timed out) may only stand for a key that got no
    answer at all, of the same customer, one order per such key."""
    answered = {o for v in keys.values() for o in v["order_ids"]}
    unanswered = _slack(keys)
    bad, mine = [], [o for o in snap["orders"] if o["customer_id"].startswith(scope)]
    for order in mine:
        if order["order_id"] in answered:
            continue
        if unanswered[order["customer_id"]] > 0:
            unanswered[order["customer_id"]] -= 1
        else:
            bad.append(f"order {order['order_id']} of {order['customer_id']} "
                       "was asked for by no request (a duplicate, or a stranger's)")
    return "no order nobody asked for", {"orders in scope": len(mine)}, bad


def _slack(keys):
    """Return {customer: 1} for each customer whose one and only key got no answer."""
    # Trade-off 64: slack only where a customer id names one key, so an unanswered key cannot
    # cover for a duplicate of its customer's other key. It costs a client that shares a customer
    # between keys a violation for its unanswered key's order: the ledger cannot tell them apart.
    per_customer = Counter(v["customer_id"] for v in keys.values())
    return Counter(v["customer_id"] for v in keys.values()
                   if not v["order_ids"] and per_customer[v["customer_id"]] == 1)


def outcome_as_asked(keys, snap):
    """Each accepted order ended the way its body asked: a completed-mix order completed, an
    out-of-stock body ended CANCELLED/out_of_stock, and so on."""
    orders = {o["order_id"]: o for o in snap["orders"]}
    bad = []
    for key, v in keys.items():
        for order_id in v["order_ids"]:
            order = orders.get(order_id)
            if order is not None and (order["status"], order["reason"]) != EXPECTED[v["expect"]]:
                bad.append(f"key {key} ({v['expect']}): order {order_id} ended {_ending(order)}")
    return "outcome as asked", dict(Counter(v["expect"] for v in keys.values())), bad
