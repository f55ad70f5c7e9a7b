"""Keyset pagination for the inspection API: `?limit=&after=` on a table's key column."""
from sqlalchemy import select

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def page(session, table, key, limit=None, after=None, where=None):
    """Return (rows, next_after): up to `limit` rows after the key `after`, in key order."""
    limit = min(max(int(limit or DEFAULT_LIMIT), 1), MAX_LIMIT)
    query = select(table).order_by(key).limit(limit + 1)
    if where is not None:
        query = query.where(where)
    if after:
        query = query.where(key > after)
    rows = list(session.execute(query).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][key.name] if more else None)
