"""Reserve, release and commit stock, all or nothing per order (the inventory service's rules)."""
from sqlalchemy import bindparam, insert, select, update

from shared.domain import catalog, rules
from shared.models.base import utcnow
from shared.models.inventory import reservations, stock
from shared.runtime import config
from shared.runtime.db import first_row, insert_if_absent, update_where

HELD, COMMITTED, RELEASED, REJECTED = "held", "committed", "released", "rejected"

# One stock row moved by the deltas, only if it has `at_least` available (built once and run
# with parameters, Trade-off 46 in shared/runtime/db.py).
_MOVE = (update(stock)
         .where(stock.c.sku == bindparam("the_sku"), stock.c.available >= bindparam("at_least"))
         .values(available=stock.c.available + bindparam("d_available"),
                 reserved=stock.c.reserved + bindparam("d_reserved"),
                 committed=stock.c.committed + bindparam("d_committed")))

# Every stock row, locked in SKU order (Trade-off 49 below).
_TAKE_ROWS_IN_ORDER = select(stock.c.sku).order_by(stock.c.sku).with_for_update()


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
    wanted = rules.merge_quantities(items)
    claimed = insert_if_absent(session, reservations, _new(order_id, HELD, wanted), "order_id")
    if not claimed and not _teaching_without_guard():
        return _reservation(session, order_id)["status"]  # a redelivery: the first answer
    # Trade-off 17: each line is taken by one conditional UPDATE (`... WHERE available >= qty`)
    # instead of read-then-write, so two orders racing for the last unit cannot both get it,
    # on either database, whatever else locks the rows (see Trade-off 49 below). The cost:
    # an all-or-nothing order that fails on a later line gives back the lines it took.
    _take_stock_rows_in_order(session)
    taken = []
    for sku, qty in sorted(wanted.items()):
        if not _move(session, sku, qty, available=-qty, reserved=+qty):
            for took_sku, took_qty in taken:
                _move(session, took_sku, 0, available=+took_qty, reserved=-took_qty)
            if claimed:
                _set_status(session, order_id, REJECTED, HELD)
            return REJECTED
        taken.append((sku, qty))
    return HELD  # (with the guard removed, a second reservation holds stock nobody settles)


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
    # Only the call whose UPDATE moves the reservation out of HELD settles it: a concurrent or
    # repeated call finds no HELD row and changes nothing.
    if not _set_status(session, order_id, new_status, HELD):
        return False
    _take_stock_rows_in_order(session)
    for sku, qty in sorted(_reservation(session, order_id)["lines"].items()):
        _move(session, sku, 0, **deltas(qty))
    return True


def _take_stock_rows_in_order(session):
    """Lock every stock row, in SKU order, before this transaction moves any (PostgreSQL)."""
    # Trade-off 49: a consumer applies the messages that arrived together in one transaction
    # (Trade-off 18), so SKU order within each order no longer orders the row locks of a
    # transaction: two batches could each hold a row the other needs next, and PostgreSQL
    # breaks such a deadlock only after its deadlock_timeout (1 s; `make bench` on PostgreSQL
    # met one every second or two, with 1,700 messages queued at inventory). Taking all rows
    # first, always in the same order, makes that wait impossible. The cost: transactions
    # that move stock take turns even when their SKUs differ, as SQLite's writers always do;
    # the catalog is a handful of SKUs that nearly every order shares, so little is lost.
    if session.dialect.name != "sqlite":  # SQLite has one writer per file: nothing to order
        session.execute(_TAKE_ROWS_IN_ORDER).all()


def _move(session, sku, at_least, **deltas):
    """Add the deltas to one stock row if it has `at_least` available; True if it did."""
    parameters = {"the_sku": sku, "at_least": at_least,
                  **{f"d_{name}": deltas.get(name, 0)
                     for name in ("available", "reserved", "committed")}}
    return session.execute(_MOVE, parameters).rowcount == 1


def _set_status(session, order_id, new_status, old_status):
    return update_where(session, reservations, {"order_id": order_id, "status": old_status},
                        status=new_status, updated_at=utcnow()) == 1


def _reservation(session, order_id):
    return first_row(session, reservations, order_id=order_id)


def _new(order_id, status, wanted):
    now = utcnow()
    return {"order_id": order_id, "status": status, "lines": wanted, "created_at": now,
            "updated_at": now}


def stock_item(row):
    """Return a stock row as the inspection API shows it."""
    return {k: row[k] for k in ("sku", "initial", "available", "reserved", "committed")}
