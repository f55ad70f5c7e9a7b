"""Read JSON the way every service of both variants must: only what the rest of the code can hold.

Python's `json.loads` accepts more than a service can store or hash: nesting thousands of
levels deep (the C parser then raises RecursionError, not ValueError, so Flask answered 500),
strings with lone UTF-16 surrogates such as "\\ud800" (valid JSON escapes that no UTF-8
encoder, so no database, can take), the NUL character "\\u0000" (PostgreSQL's text cannot hold
it), the non-standard NaN and Infinity, and numbers too large for a float such as 1e999
(Python reads them as inf, which no JSON writer, PostgreSQL's JSON type included, accepts
back). `loads` turns all of
them into one ValueError, so an HTTP body becomes a 400 and a message becomes a dead letter.
Used by shared/http/web.py (every HTTP API) and shared/messaging/envelope.py (every consumer).
"""
import json
import math

MAX_DEPTH = 32  # an order is 3 levels deep; the commands and envelopes are no deeper than 4


class NotStrictJSON(ValueError):
    """The text is JSON Python can read, but not JSON a service can keep."""


def _refuse_constant(name):
    raise NotStrictJSON(f"{name} is not JSON")


def _finite(text):
    # parse_constant sees only the literals NaN, Infinity and -Infinity; a number such as 1e999
    # is valid JSON that overflows to inf, and comes through here.
    number = float(text)
    if not math.isfinite(number):
        raise NotStrictJSON(f"{text[:20]} is too large a number")
    return number


def loads(text):
    """Return the value of a JSON document, or raise ValueError for anything a service cannot keep."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise NotStrictJSON(f"nested deeper than {MAX_DEPTH} levels") from None
    check(value)
    return value


def check(value):
    """Raise NotStrictJSON when a decoded value nests too deep or holds a string no database can
    store (a lone surrogate or a NUL)."""
    # Trade-off 37: one more pass over every body and message, in Python, to refuse early what
    # would fail late (in the database, in a hash): about a millisecond for a 64 KiB body.
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise NotStrictJSON(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, str):
            _encodable(node)
        elif isinstance(node, dict):
            for key, child in node.items():
                _encodable(key)
                pending.append((child, depth + 1))
        elif isinstance(node, list):
            pending.extend((child, depth + 1) for child in node)


def _encodable(text):
    if "\x00" in text:
        raise NotStrictJSON("a string holds the NUL character (\\u0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NotStrictJSON("a string holds a lone surrogate (\\ud800-\\udfff)") from None
