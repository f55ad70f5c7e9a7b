"""Bad input gets a 4xx with a JSON error body, never a 500, and never creates an order."""
import json

import pytest

from chaos import structural
from tests.support import VALID_ORDER, get_json, order


def _with(**changes):
    body = json.loads(json.dumps(VALID_ORDER))
    for path, value in changes.items():
        target, *keys = path.split("__")
        node = body
        for key in [target, *keys][:-1]:
            node = node[int(key) if key.isdigit() else key]
        last = [target, *keys][-1]
        if value is _DROP:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return body


_DROP = object()

BAD_JSON_BODIES = {
    "wrong type of customer_id": _with(customer_id=42),
    "empty customer_id": _with(customer_id=""),
    "customer_id over 64 characters": _with(customer_id="c" * 65),
    "missing items": _with(items=_DROP),
    "no lines": _with(items=[]),
    "21 lines": _with(items=[{"sku": "MUG-RED", "quantity": 1}] * 21),
    "unknown sku": order(sku="NOPE-404"),
    "quantity 0": order(quantity=0),
    "quantity over the limit": order(quantity=101),
    "quantity as a string": order(quantity="2"),
    "quantity as a float": order(quantity=1.5),
    "quantity as a boolean": order(quantity=True),
    "missing payment": _with(payment=_DROP),
    "card token not a string": _with(payment={"card_token": 7}),
    "missing address line": _with(shipping_address__line1=_DROP),
    "country not two letters": _with(shipping_address__country="DEU"),
    "body is a list": [VALID_ORDER],
    "body is a string": "order please",
    "item is not an object": _with(items=["MUG-RED"]),
}


def _orders_count(http, urls):
    return len(get_json(http, f"{urls['orders']}/orders?limit=1000")["items"])


@pytest.mark.parametrize("case", list(BAD_JSON_BODIES))
def test_an_invalid_order_body_is_a_400_naming_the_field(system, http, urls, case):
    response = http.post(f"{urls['orders']}/orders", json=BAD_JSON_BODIES[case], timeout=10)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["fields"]


@pytest.mark.parametrize("data, content_type, status", [
    ("{not json", "application/json", 400),
    ("", "application/json", 400),
    ("customer_id=1", "application/x-www-form-urlencoded", 415),
    ('{"customer_id": "c"}', "text/plain", 415),
    ('{"pad": "' + "x" * 70_000 + '"}', "application/json", 413),
])
def test_a_malformed_non_json_or_oversized_body_gets_a_json_4xx(system, http, urls, data,
                                                                 content_type, status):
    response = http.post(f"{urls['orders']}/orders", data=data, timeout=10,
                         headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


STRUCTURAL = {**structural.KEPT, **structural.REFUSED}


@pytest.mark.parametrize("case", list(STRUCTURAL))
def test_a_structurally_extreme_json_body_is_a_400_not_a_500(system, http, urls, case):
    response = http.post(f"{urls['orders']}/orders", data=structural.body_bytes(STRUCTURAL[case]),
                         headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_no_bad_request_creates_an_order(system, http, urls):
    before = _orders_count(http, urls)
    for body in BAD_JSON_BODIES.values():
        http.post(f"{urls['orders']}/orders", json=body, timeout=10)
    assert _orders_count(http, urls) == before


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/orders/does-not-exist", 404),
    ("GET", "/nowhere", 404),
    ("DELETE", "/orders", 405),
    ("GET", "/orders?status=LOST", 400),
    ("GET", "/orders?limit=0", 400),
    ("GET", "/orders?limit=abc", 400),
    ("GET", "/orders?limit=\u00b3", 400),
])
def test_unknown_paths_methods_and_parameters_get_a_json_4xx(system, http, urls, method, path,
                                                             status):
    response = http.request(method, f"{urls['orders']}{path}", timeout=10)
    assert response.status_code == status
    assert response.json()["error"]["code"]
