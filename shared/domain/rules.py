"""Business rules as plain functions: pricing, stock, payment and shipping decisions.

Both variants call these and only these, so the two differ in coordination alone.
No I/O here: each function takes values and returns a decision.
"""
from dataclasses import dataclass

from shared.domain import catalog

OUT_OF_STOCK = "out_of_stock"
PAYMENT_DECLINED = "payment_declined"
SHIPPING_UNAVAILABLE = "shipping_unavailable"
REASONS = (OUT_OF_STOCK, PAYMENT_DECLINED, SHIPPING_UNAVAILABLE)


@dataclass(frozen=True)
class PricedLine:
    sku: str
    quantity: int
    unit_price_cents: int


def price_lines(items):
    """Price each requested line from the catalog (SKUs are already validated)."""
    return [
        PricedLine(i["sku"], i["quantity"], catalog.product(i["sku"]).unit_price_cents)
        for i in items
    ]


def order_total(lines):
    """Return the total of priced lines, in cents."""
    return sum(line.quantity * line.unit_price_cents for line in lines)


def merge_quantities(items):
    """Add up the quantity per SKU, since one order may name a SKU on several lines."""
    wanted = {}
    for item in items:
        wanted[item["sku"]] = wanted.get(item["sku"], 0) + item["quantity"]
    return wanted


def can_reserve(wanted, available):
    """All or nothing: True only when every SKU has enough available stock."""
    return all(available.get(sku, 0) >= qty for sku, qty in wanted.items())


def payment_decision(card_token, amount_cents):
    """Return None when the charge is accepted, else the decline reason."""
    if card_token == catalog.DECLINED_CARD_TOKEN:
        return "card_declined"
    if amount_cents > catalog.CREDIT_LIMIT_CENTS:
        return "credit_limit_exceeded"
    return None


def can_ship_to(country):
    """True when the country is served."""
    return country.upper() not in catalog.UNSERVED_COUNTRIES
