"""Reserve, release and commit stock, all or nothing per order (the inventory service's rules)."""
from sqlalchemy import insert, select, update

from shared import catalog, config, rules
from shared.models.base import utcnow
from shared.models.inventory import reservations, stock

HELD, COMMITTED, RELEASED, REJECTED = "held", "committed", "released", "rejected"


def seed(session):
    """Fill the stock table from the catalog (only SKUs that are missing)."""
    present = set(session.execute(select(stock.c.sku)).scalars())
    for p in catalog.PRODUCTS.values():
        if p.sku not in present:
            session.execute(insert(stock).values(sku=p.sku, initial=p.initial_stock,
                                                 available=p.initial_stock, reserved=0,
                                                 committed=0))


def reserve(session, order_id, items):
    """Hold stock for every line, or for none; return the reservation's status (held/rejected)."""
    existing = _reservation(session, order_id)
    if existing and not _teaching_without_guard():
        return existing["status"]
    wanted = rules.merge_quantities(items)
    rows = session.execute(  # lock the rows in SKU order so concurrent reservations never deadlock
        select(stock).where(stock.c.sku.in_(sorted(wanted))).order_by(stock.c.sku)
        .with_for_update()).mappings()
    available = {r["sku"]: r["available"] for r in rows}
    status = HELD if rules.can_reserve(wanted, available) else REJECTED
    if status == HELD:
        for sku, qty in wanted.items():
            _move(session, sku, available=-qty, reserved=+qty)
    if not existing:  # (with the guard removed, a second reservation holds stock nobody settles)
        _record(session, order_id, status, wanted)
    return status


def _teaching_without_guard():
    """The switches that turn off the transport's duplicate check (message ids, idempotency
    keys) turn off this once-per-order guard too: the switch removes BOTH layers, so that the
    doubled effect they protect against shows in the stock (see docs/faults.md)."""
    return (config.teaching_switch("TEACH_DISABLE_DEDUP")
            or config.teaching_switch("TEACH_DISABLE_IDEMPOTENCY_KEYS"))


def release(session, order_id):
    """Give held stock back (compensation); return True if this call released anything."""
    return _settle(session, order_id, RELEASED, lambda qty: {"available": +qty, "reserved": -qty})


def commit(session, order_id):
    """Turn held stock into sold stock once the order completes; True if this call did it."""
    return _settle(session, order_id, COMMITTED, lambda qty: {"reserved": -qty, "committed": +qty})


def _settle(session, order_id, new_status, deltas):
    reservation = _reservation(session, order_id)
    if not reservation or reservation["status"] != HELD:
        return False
    for sku, qty in sorted(reservation["lines"].items()):
        _move(session, sku, **deltas(qty))
    session.execute(update(reservations).where(reservations.c.order_id == order_id)
                    .values(status=new_status, updated_at=utcnow()))
    return True


def _move(session, sku, **deltas):
    values = {name: getattr(stock.c, name) + delta for name, delta in deltas.items()}
    session.execute(update(stock).where(stock.c.sku == sku).values(**values))


def _reservation(session, order_id):
    return session.execute(
        select(reservations).where(reservations.c.order_id == order_id)).mappings().first()


def _record(session, order_id, status, wanted):
    now = utcnow()
    session.execute(insert(reservations).values(order_id=order_id, status=status, lines=wanted,
                                                created_at=now, updated_at=now))


def stock_item(row):
    """Return a stock row as the inspection API shows it."""
    return {k: row[k] for k in ("sku", "initial", "available", "reserved", "committed")}
