"""Place orders in a variant, and read one order with its timeline (the page's only data).

The page's server talks to each variant's public API on the page's behalf: the services
answer no cross-origin requests, and should not have to for a teaching page.
"""
import copy
from concurrent.futures import ThreadPoolExecutor

import requests

from shared.runtime import config
from tests.support import OUTCOMES  # the same four bodies the tests and `make demo-quick` use

MAX_BURST = 50
POST_TIMEOUT_S = 30   # an orchestrated POST may wait out its whole sync budget


def place(variant, outcome, how_many):
    """POST `how_many` orders of one outcome at once; return each answer's status and order id."""
    body = OUTCOMES[outcome][0]
    url = f"{config.watch_orders_url(variant)}/orders"
    with ThreadPoolExecutor(min(how_many, 16)) as pool:
        return list(pool.map(lambda _: _post(url, copy.deepcopy(body)), range(how_many)))


def _post(url, body):
    try:
        answer = requests.post(url, json=body, timeout=POST_TIMEOUT_S)
    except requests.RequestException as exc:
        return {"status": None, "order_id": None, "error": str(exc)}
    order = answer.json() if answer.headers.get("Content-Type", "").startswith(
        "application/json") else {}
    return {"status": answer.status_code, "order_id": order.get("order_id"),
            "order_status": order.get("status")}


def read(variant, order_id):
    """Return the order and its timeline steps, or None for an order the variant does not know."""
    base = f"{config.watch_orders_url(variant)}/orders/{order_id}"
    with requests.Session() as http:
        order = http.get(base, timeout=5)
        if order.status_code == 404:
            return None
        order.raise_for_status()
        timeline = http.get(f"{base}/timeline", timeout=5)
        steps = timeline.json().get("steps", []) if timeline.status_code == 200 else []
    return {"order": order.json(), "steps": steps}
