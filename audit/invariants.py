"""The invariants of docs/domain.md as functions of one snapshot of the inspection API.

Each check returns (name, counts, violations): what was looked at, and every broken case.
"""
from collections import Counter, defaultdict

FINAL = ("COMPLETED", "CANCELLED")


def no_pending(snap):
    """1. Every accepted order is COMPLETED or CANCELLED."""
    counts = Counter(o["status"] for o in snap["orders"])
    bad = [f"order {o['order_id']} is still PENDING" for o in snap["orders"]
           if o["status"] not in FINAL]
    return "every order final", dict(counts), bad


def stock_conserved(snap):
    """2. Stock is conserved, nothing stays reserved, committed matches completed orders."""
    sold = Counter()
    for order in snap["orders"]:
        if order["status"] == "COMPLETED":
            for line in order["items"]:
                sold[line["sku"]] += line["quantity"]
    bad = []
    for row in snap["stock"]:
        sku = row["sku"]
        if row["initial"] != row["available"] + row["reserved"] + row["committed"]:
            bad.append(f"{sku}: initial {row['initial']} != available+reserved+committed")
        if min(row["available"], row["reserved"], row["committed"]) < 0:
            bad.append(f"{sku}: negative stock {row}")
        if row["reserved"]:
            bad.append(f"{sku}: {row['reserved']} still reserved")
        if row["committed"] != sold[sku]:
            bad.append(f"{sku}: committed {row['committed']} != {sold[sku]} sold in completed orders")
    return "stock conserved", {"skus": len(snap["stock"]), "units sold": sum(sold.values())}, bad


def charged_correctly(snap):
    """3. A completed order is charged its total once; a cancelled one is charged nothing net."""
    by_order = defaultdict(list)
    for payment in snap["payments"]:
        by_order[payment["order_id"]].append(payment)
    bad = []
    for order in snap["orders"]:
        mine = by_order[order["order_id"]]
        captured = [p for p in mine if p["status"] == "captured"]
        if order["status"] == "COMPLETED" and (
                len(mine) != 1 or len(captured) != 1
                or captured[0]["amount_cents"] != order["total_cents"]):
            bad.append(f"completed order {order['order_id']} has payments {mine}")
        if order["status"] == "CANCELLED" and (captured or len(mine) > 1):
            bad.append(f"cancelled order {order['order_id']} is charged: {mine}")
    counts = Counter(p["status"] for p in snap["payments"])
    return "charged once, refunded on cancel", dict(counts), bad


def shipped_correctly(snap):
    """4. A completed order has exactly one shipment; a cancelled one has none active."""
    by_order = defaultdict(list)
    for shipment in snap["shipments"]:
        by_order[shipment["order_id"]].append(shipment)
    bad = []
    for order in snap["orders"]:
        booked = [s for s in by_order[order["order_id"]] if s["status"] == "booked"]
        if order["status"] == "COMPLETED" and (len(booked) != 1
                                               or len(by_order[order["order_id"]]) != 1):
            bad.append(f"completed order {order['order_id']} has shipments "
                       f"{by_order[order['order_id']]}")
        if order["status"] == "CANCELLED" and booked:
            bad.append(f"cancelled order {order['order_id']} has an active shipment")
    return "shipped once", dict(Counter(s["status"] for s in snap["shipments"])), bad


def notified_once(snap):
    """5. Every final order has exactly one outcome notification, with the right outcome."""
    by_order = defaultdict(list)
    for note in snap["notifications"]:
        by_order[note["order_id"]].append(note)
    bad = []
    for order in snap["orders"]:
        if order["status"] not in FINAL:
            continue
        notes = by_order[order["order_id"]]
        if len(notes) != 1 or notes[0]["outcome"] != order["status"].lower():
            bad.append(f"order {order['order_id']} ({order['status']}) has notifications {notes}")
    return "notified once", {"notifications": len(snap["notifications"])}, bad


def no_orphan_effects(snap):
    """3-5, the other way round: no payment, shipment or notification for an unknown order."""
    known = {o["order_id"] for o in snap["orders"]}
    bad = [f"{kind[:-1]} for unknown order {item['order_id']}"
           for kind in ("payments", "shipments", "notifications") for item in snap[kind]
           if item["order_id"] not in known]
    return "no effect without its order", {"orders": len(known)}, bad


CHECKS = (no_pending, stock_conserved, charged_correctly, shipped_correctly, notified_once,
          no_orphan_effects)


def audit(snap):
    """Run every check on a snapshot; return a list of (name, counts, violations)."""
    return [check(snap) for check in CHECKS]
