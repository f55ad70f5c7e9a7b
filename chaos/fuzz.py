"""Generated bad input against the public API (property-based, with hypothesis): invalid
bodies, headers, paths and methods, and the structural extremes of chaos/structural.py (depth,
width, long keys, special numbers, escapes, encodings). The property: never a 5xx, every POST
/orders built to be invalid is a 4xx, and no order is created but those answered 2xx (a body
that is only structurally odd, say with a 1e400 in an unknown member, is still a valid order).

    python -m chaos --fuzz-only --requests 1000      (`make fuzz`)
"""
import copy
import json

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from audit.fetch import all_items
from chaos import structural
from chaos.measure import Row

LONG_RUN = 1000
VALID = structural.VALID
not_text = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                     st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4),
                                                                          st.integers(), max_size=2))
bad_text = st.one_of(not_text, st.just(""), st.text(" \t\n", min_size=1, max_size=5))
bad_quantity = st.one_of(st.integers(max_value=0), st.integers(min_value=101), st.booleans(),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=3), st.none())
bad_sku = st.text(max_size=12).filter(lambda s: s not in ("MUG-RED", "MUG-BLUE", "TEE-BLACK",
                                                          "BOOK-SAGA", "LAMP-LIMITED"))
FIELD_PATHS = [("customer_id",), ("items",), ("payment",), ("payment", "card_token"),
               ("shipping_address",)] + [("shipping_address", f) for f in VALID["shipping_address"]]


def _set(path, value):
    body = copy.deepcopy(VALID)
    node = body
    for key in path[:-1]:
        node = node[key]
    if value is _DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


_DROP = object()
bad_bodies = st.one_of(
    st.builds(lambda v: _set(("customer_id",), v), st.one_of(bad_text, st.text(min_size=65))),
    st.builds(lambda p: _set(p, _DROP), st.sampled_from(FIELD_PATHS)),
    st.builds(lambda p, v: _set(p, v), st.sampled_from(FIELD_PATHS[3:]), bad_text),
    st.builds(lambda v: _set(("items",), v), st.one_of(not_text, st.just([]))),
    st.builds(lambda n: _set(("items",), [{"sku": "MUG-RED", "quantity": 1}] * n),
              st.integers(21, 60)),
    st.builds(lambda q: _set(("items",), [{"sku": "MUG-RED", "quantity": q}]), bad_quantity),
    st.builds(lambda s: _set(("items",), [{"sku": s, "quantity": 1}]), st.one_of(bad_sku, not_text)),
    st.builds(lambda c: _set(("shipping_address", "country"), c),
              st.text(max_size=5).filter(lambda c: not (len(c) == 2 and c.isascii()
                                                        and c.isalpha()))),
    st.one_of(not_text, st.text(max_size=20)))  # not an object at all


KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:."


def post(body=None, data=None, headers=None):
    return {"method": "POST", "path": "/orders", "json": body, "data": data,
            "headers": headers or {}}


value_requests = st.one_of(
    bad_bodies.map(lambda b: post(b)),
    st.binary(max_size=64).map(lambda d: post(data=d, headers={"Content-Type": "application/json"})),
    st.sampled_from(["text/plain", "application/xml", "multipart/form-data", ""]).map(
        lambda t: post(data=json.dumps(VALID).encode(), headers={"Content-Type": t})),
    st.integers(64 * 1024 + 1, 80 * 1024).map(
        lambda n: post(data=b'{"customer_id": "' + b"x" * n + b'"}',
                       headers={"Content-Type": "application/json"})),
    st.one_of(st.just(""), st.text(KEY_CHARS, min_size=201, max_size=300)).map(
        lambda k: post(VALID, headers={"Idempotency-Key": k})),
    st.text(max_size=40).map(lambda p: {"method": "GET", "path": "/orders/" + p, "headers": {}}),
    st.tuples(st.text(max_size=12), st.text(max_size=8), st.text(max_size=8)).map(
        lambda q: {"method": "GET", "path": "/orders", "headers": {},
                   "params": {"status": q[0], "limit": q[1], "after": q[2]}}),
    st.sampled_from(["PUT", "PATCH", "DELETE"]).map(
        lambda m: {"method": m, "path": "/orders", "json": VALID, "headers": {}}))
structural_requests = structural.raw_bodies.map(lambda d: {**post(data=d, headers={
    "Content-Type": "application/json"}), "may_pass": True})
bad_requests = st.one_of(value_requests, structural_requests)  # half and half


class Tally:
    """What the generated requests got back."""

    def __init__(self):
        self.sent, self.accepted, self.statuses, self.failures = 0, 0, {}, []

    def send(self, session, base_url, req):
        url = base_url + requests.utils.quote(req["path"], safe="/")
        self.sent += 1
        try:
            answer = _request(session, req, url)
        except requests.RequestException:
            # A kept-alive connection the server closed (it closes after a 413): a client
            # retries a connection failure once, on a new connection. A 5xx is never retried.
            session.close()
            try:
                answer = _request(session, req, url)
            except requests.RequestException as exc:
                self.failures.append(f"{req['method']} {req['path']} -> {exc!r}: "
                                     f"{str(req.get('json') or req.get('data'))[:80]}")
                return
        self.statuses[answer.status_code] = self.statuses.get(answer.status_code, 0) + 1
        bad_post = req["method"] == "POST" and not req.get("may_pass")
        if req["method"] == "POST" and answer.status_code < 300:
            self.accepted += 1
        if answer.status_code >= 500 or (bad_post and not 400 <= answer.status_code < 500):
            self.failures.append(f"{req['method']} {req['path']} -> {answer.status_code}: "
                                 f"{str(req.get('json') or req.get('data'))[:120]}")


def _request(session, req, url):
    return session.request(req["method"], url, json=req.get("json"), data=req.get("data"),
                           headers=req["headers"], params=req.get("params"), timeout=10)


def generate(base_url, count, seed=None):
    """Send at least `count` generated bad requests; return the Tally."""
    tally = Tally()
    with requests.Session() as session:
        while tally.sent < count:
            @settings(max_examples=count - tally.sent, database=None, deadline=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(bad_requests)
            def one(req):
                tally.send(session, base_url, req)
            one()
    return tally


def order_count(base_url):
    with requests.Session() as session:
        return len(all_items(session, base_url, "/orders"))


def run(system, count=LONG_RUN):
    """Fuzz a running System; return a results Row (passed: no 5xx, no order created)."""
    base = system.urls["orders"]
    before = order_count(base)
    tally = generate(base, count)
    created = order_count(base) - before
    row = Row("fuzz", system.variant, system.db, sent=tally.sent,
              passed=not tally.failures and created == tally.accepted)
    row.notes = [f"{tally.sent} bad requests, statuses {dict(sorted(tally.statuses.items()))}, "
                 f"{created} order(s) created, {tally.accepted} answered 2xx"] + tally.failures[:5]
    return row
