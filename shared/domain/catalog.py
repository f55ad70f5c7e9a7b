"""The catalog: what can be ordered, at what price, and the triggers for each failure path.

Both variants price and check orders against this one module, so a request that ends
`payment_declined` in one variant ends the same way in the other.
"""
from dataclasses import dataclass

CURRENCY = "EUR"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    unit_price_cents: int
    initial_stock: int


PRODUCTS = {
    p.sku: p
    for p in [
        Product("MUG-RED", "Red mug", 1250, 1_000_000),
        Product("MUG-BLUE", "Blue mug", 1250, 1_000_000),
        Product("TEE-BLACK", "Black T-shirt", 1999, 1_000_000),
        Product("BOOK-SAGA", "A book about sagas", 3450, 1_000_000),
        # The scarce SKU: fewer than 100 units, so ordering 100 of it is always out of stock.
        Product("LAMP-LIMITED", "Limited edition lamp", 8900, 25),
    ]
}

SCARCE_SKU = "LAMP-LIMITED"

# Payment is declined for this card token, or when the order total exceeds the credit limit.
DECLINED_CARD_TOKEN = "tok_declined"
CREDIT_LIMIT_CENTS = 500_000

# Shipping is unavailable to these ISO country codes ("AQ" is Antarctica).
UNSERVED_COUNTRIES = frozenset({"AQ", "KP"})


def product(sku):
    """Return the product for a SKU, or None when the SKU is unknown."""
    return PRODUCTS.get(sku)
