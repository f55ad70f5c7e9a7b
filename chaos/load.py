"""A small bounded load generator: a few threads, one requests.Session each, a bounded number
of orders and of seconds, only 127.0.0.1.

Every order carries an Idempotency-Key, so a client whose request failed (the orders service
was killed, the orchestrator shed load) retries it safely, as a careful client would. The
customer id is tagged with the scenario, so the scenario's orders can be found afterwards.
"""
import itertools
import threading
import time
from collections import Counter

import requests

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postcode": "10115"}
# Seven of ten orders complete; one of each cancellation path. Quantity 1 of a plentiful SKU,
# so one doubled reservation shows as one unit of stock held twice.
MIX = [("MUG-RED", 1, "tok_visa", "DE")] * 7 + [
    ("LAMP-LIMITED", 100, "tok_visa", "DE"),     # out of stock (the lamp has 25)
    ("MUG-BLUE", 1, "tok_declined", "DE"),       # payment declined
    ("TEE-BLACK", 1, "tok_visa", "AQ")]          # shipping unavailable
TRIES = 8
TIMEOUT_S = 10


def order_body(n, tag):
    """Return the n-th order of the mix, its customer id tagged."""
    sku, quantity, card, country = MIX[n % len(MIX)]
    return {"customer_id": f"{tag}-{n}"[:64], "items": [{"sku": sku, "quantity": quantity}],
            "payment": {"card_token": card}, "shipping_address": {**ADDRESS, "country": country}}


class Load:
    """`total` orders at about `rate` per second over `threads` clients, at most `seconds`."""

    def __init__(self, orders_url, tag, total=120, rate=8.0, threads=4, seconds=60):
        self.url, self.tag, self.total, self.threads = orders_url, tag, total, threads
        self.pause_s, self.seconds = threads / rate, seconds
        self.accepted, self.statuses, self.sent = [], Counter(), 0
        self._numbers, self._lock, self._workers = itertools.count(), threading.Lock(), []

    def start(self):
        """Start the clients in the background; return self."""
        deadline = time.monotonic() + self.seconds
        self._workers = [threading.Thread(target=self._client, args=(deadline,), daemon=True)
                         for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        return self

    def join(self):
        """Wait for every client to finish; return self."""
        for worker in self._workers:
            worker.join()
        return self

    def _client(self, deadline):
        with requests.Session() as session:
            while time.monotonic() < deadline:
                with self._lock:
                    n = next(self._numbers)
                    if n >= self.total:
                        return
                    self.sent += 1
                self._place(session, n, deadline)
                time.sleep(self.pause_s)

    def _place(self, session, n, deadline):
        headers = {"Idempotency-Key": f"{self.tag}-{n}"}
        for _ in range(TRIES):
            status = self._post(session, order_body(n, self.tag), headers)
            if isinstance(status, str):  # an order id: accepted
                with self._lock:
                    self.accepted.append(status)
                return
            if time.monotonic() > deadline:
                return
            time.sleep(1.0)  # down, shedding (429) or failing: retry with the same key

    def _post(self, session, body, headers):
        try:
            response = session.post(f"{self.url}/orders", json=body, headers=headers,
                                    timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            self._count(type(exc).__name__)
            return None
        self._count(response.status_code)
        return response.json()["order_id"] if response.status_code in (200, 201, 202) else None

    def _count(self, status):
        with self._lock:
            self.statuses[status] += 1
