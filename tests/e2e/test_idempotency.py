"""One Idempotency-Key never yields two orders, even when the requests race."""
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support import order, wait_final


def test_the_same_key_and_body_returns_the_same_order(system, http, urls):
    body, headers = order(), {"Idempotency-Key": "same-key-1"}
    first = http.post(f"{urls['orders']}/orders", json=body, headers=headers, timeout=30)
    second = http.post(f"{urls['orders']}/orders", json=body, headers=headers, timeout=30)
    assert first.status_code in (201, 202) and second.status_code in (200, 201, 202)
    assert first.json()["order_id"] == second.json()["order_id"]


def test_the_same_key_with_another_body_is_a_422(system, http, urls):
    headers = {"Idempotency-Key": "same-key-2"}
    http.post(f"{urls['orders']}/orders", json=order(quantity=1), headers=headers, timeout=30)
    response = http.post(f"{urls['orders']}/orders", json=order(quantity=3), headers=headers,
                         timeout=30)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_concurrent_posts_with_one_key_create_one_order(system, urls):
    body, headers = order(sku="BOOK-SAGA", quantity=1), {"Idempotency-Key": "racing-key"}

    def post(_):
        with requests.Session() as session:
            return session.post(f"{urls['orders']}/orders", json=body, headers=headers,
                                timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(post, range(16)))
    assert all(r.status_code in (200, 201, 202) for r in responses), \
        [r.status_code for r in responses]
    ids = {r.json()["order_id"] for r in responses}
    assert len(ids) == 1
    with requests.Session() as session:
        assert wait_final(session, urls["orders"], ids.pop())["status"] == "COMPLETED"
