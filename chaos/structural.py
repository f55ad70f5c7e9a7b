"""Structural extremes of a JSON body: what a parser meets, not what a validator checks.

chaos/fuzz.py mutates the values of a valid order; these strategies bend its shape and its
bytes instead: nesting depth and width, long strings and keys, huge and special numbers,
duplicate keys, unusual Unicode and escapes, byte-order marks and other encodings. KEPT holds
every case that once got a 5xx, by name: tests/e2e/test_bad_input.py and
tests/unit/test_web.py send each of them as a regular test case.
"""
import json

from hypothesis import strategies as st

VALID = {"customer_id": "fuzz", "items": [{"sku": "MUG-RED", "quantity": 1}],
         "payment": {"card_token": "tok_visa"},
         "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin",
                              "postcode": "10115", "country": "DE"}}
TEXT = json.dumps(VALID)


def with_extra(raw_value):
    """Return the valid order's JSON text with one more member whose value is raw JSON text."""
    return TEXT[:-1] + ', "extra": ' + raw_value + "}"


def with_customer(raw_string_body):
    """Return the valid order with customer_id set to the raw JSON string body (escapes kept)."""
    return TEXT.replace('"fuzz"', '"' + raw_string_body + '"')


def nested(depth, opener="[", closer="]", inner="1"):
    return opener * depth + inner + closer * depth


# Each of these got a 500 from both variants before shared/runtime/strict_json.py (the NUL only on
# PostgreSQL): the body is valid JSON that Python parses into something no service can keep.
KEPT = {
    "an array nested 5,000 deep": nested(5000, "[", "]", ""),
    "an object nested 3,000 deep": nested(3000, '{"a":', "}"),
    "a member nested 5,000 deep": with_extra(nested(5000)),
    "a lone high surrogate in customer_id": with_customer("\\ud800"),
    "a lone low surrogate in customer_id": with_customer("c\\udfff"),
    "a NUL character in customer_id": with_customer("a\\u0000b"),
}
# Structural cases that are a 400 too: some were accepted before (a lone surrogate in an
# unknown member, NaN), some were always refused; kept so that all of them stay 4xx.
REFUSED = {
    "a lone surrogate in an extra member": with_extra('"\\udbff"'),
    "a lone surrogate as a key": TEXT[:-1] + ', "\\ud800": 1}',
    "NaN": with_extra("NaN"),
    "-Infinity as a quantity": TEXT.replace('"quantity": 1', '"quantity": -Infinity'),
    "1e400 as a quantity": TEXT.replace('"quantity": 1', '"quantity": 1e400'),
    "an integer of 5,000 digits": TEXT.replace('"quantity": 1', '"quantity": ' + "9" * 5000),
    "a latin-1 encoded body": "latin-1",
}


def body_bytes(text):
    """Encode a case's text as the bytes sent (lone surrogates pass as written escapes)."""
    if text == "latin-1":
        return TEXT.replace('"Ada"', '"Ad\u00e9"').encode("latin-1")
    return text.encode("utf-8")


# --- generated extremes (chaos/fuzz.py) -----------------------------------------------------

_SCALARS = st.sampled_from(["0", "-0", "1e400", "-1e400", "1e-400", "NaN", "Infinity",
                            "-Infinity", "9" * 4400, "0.1e99999", '""', "null", "true"])
_ESCAPES = st.sampled_from(["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\u0000", "\\u001f",
                            "\\u202e", "\\ufeff", "\\\\", '\\"', "\\/", "\\b\\f\\n\\r\\t"])
_UNICODE = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)


def _string_body():
    return st.lists(st.one_of(_ESCAPES, _UNICODE.map(lambda t: json.dumps(t)[1:-1])),
                    max_size=6).map("".join)


def _deep():
    return st.tuples(st.integers(20, 6000), st.sampled_from([("[", "]"), ('{"k":', "}")])).map(
        lambda t: nested(t[0], *t[1]))


def _wide():
    return st.integers(1000, 12000).map(lambda n: "[" + ",".join(["0"] * n) + "]")


def _long_key():
    return st.integers(100, 60000).map(lambda n: '{"' + "k" * n + '": 1}')


def _duplicates():
    return st.sampled_from([TEXT[:-1] + ', "customer_id": 7}',
                            TEXT[:-1] + ', "items": []}',
                            TEXT.replace('"quantity": 1', '"quantity": 1, "quantity": "x"')])


texts = st.one_of(
    _deep().map(with_extra), _deep(), _wide().map(with_extra), _long_key().map(with_extra),
    _SCALARS.map(with_extra),
    _SCALARS.map(lambda s: TEXT.replace('"quantity": 1', '"quantity": ' + s)),
    _string_body().map(with_customer), _string_body().map(lambda s: with_extra(f'"{s}"')),
    _duplicates())

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252"]


def _encode(text, encoding):
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode("utf-8")


raw_bodies = st.one_of(
    texts.map(str.encode),
    st.tuples(texts, st.sampled_from(ENCODINGS)).map(lambda t: _encode(*t)),
    st.binary(max_size=8).map(lambda junk: b"\xef\xbb\xbf" + junk + TEXT.encode()),
    st.integers(0, len(TEXT)).map(lambda n: TEXT.encode()[:n]))  # a body cut short
