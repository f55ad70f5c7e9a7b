"""A small bounded load generator: a few threads, one requests.Session each, a bounded number
of orders and of seconds, only 127.0.0.1.

Every order carries an Idempotency-Key, so a client whose request failed (the orders service
was killed, the orchestrator shed load) retries it safely, as a careful client would. The
customer id is tagged with the scenario, so the scenario's orders can be found afterwards,
and every attempt goes into the client's ledger (audit/ledger.py) that the audit then checks.
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
OUTCOMES = ["completed"] * 7 + ["out_of_stock", "payment_declined", "shipping_unavailable"]
TIMEOUT_S = 10


def order_body(n, tag):
    """Return the n-th order of the mix, its customer id tagged."""
    sku, quantity, card, country = MIX[n % len(MIX)]
    return {"customer_id": customer_id(n, tag), "items": [{"sku": sku, "quantity": quantity}],
            "payment": {"card_token": card}, "shipping_address": {**ADDRESS, "country": country}}


def customer_id(n, tag):
    """Return the customer id of the n-th order of a tagged load (unique per order)."""
    return f"{tag}-{n}"[:64]


def expected_outcome(n):
    """Return the outcome of DOMAIN.md the n-th order of the mix asks for."""
    return OUTCOMES[n % len(OUTCOMES)]


class Load:
    """`total` orders at about `rate` per second over `threads` clients, at most `seconds`.

    With `hold_at`, the orders from that number on wait until release() is called: a fault
    that takes a while to set in (a broker's stop on a busy machine) still surely has orders
    arriving while it is in place, not only before and after it."""

    def __init__(self, orders_url, tag, ledger, total=120, rate=8.0, threads=4, seconds=60,
                 hold_at=None):
        self.url, self.tag, self.total, self.threads = orders_url, tag, total, threads
        self.ledger = ledger
        self.pause_s, self.seconds = threads / rate, seconds
        self.accepted, self.statuses, self.sent = [], Counter(), 0
        self._numbers, self._lock, self._workers = itertools.count(), threading.Lock(), []
        self.hold_at = total if hold_at is None else hold_at
        self._released = threading.Event()

    def start(self):
        """Start the clients in the background; return self."""
        deadline = time.monotonic() + self.seconds
        self._workers = [threading.Thread(target=self._client, args=(deadline,), daemon=True)
                         for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        return self

    def join(self, timeout=None):
        """Wait for every client to finish, at most `timeout` seconds in all; return self."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker in self._workers:
            worker.join(None if deadline is None else max(deadline - time.monotonic(), 0))
        return self

    def release(self):
        """Let the held orders (number `hold_at` on) go."""
        self._released.set()

    def _client(self, deadline):
        with requests.Session() as session:
            while time.monotonic() < deadline:
                with self._lock:
                    n = next(self._numbers)
                    if n >= self.total:
                        return
                    self.sent += 1
                if n >= self.hold_at:
                    self._released.wait(max(deadline - time.monotonic(), 0))
                self._place(session, n, deadline)
                time.sleep(self.pause_s)

    def _place(self, session, n, deadline):
        key = f"{self.tag}-{n}"
        while True:  # until accepted or out of time: the same key every time
            status, order_id = self._post(session, order_body(n, self.tag),
                                          {"Idempotency-Key": key})
            self.ledger.record(key, customer_id(n, self.tag), expected_outcome(n), status,
                               order_id)
            if order_id:
                with self._lock:
                    self.accepted.append(order_id)
                return
            if time.monotonic() > deadline:
                return
            time.sleep(1.0)  # down, shedding (429) or failing: retry with the same key

    def _post(self, session, body, headers):
        """Return (status or exception name, order id when accepted)."""
        try:
            response = session.post(f"{self.url}/orders", json=body, headers=headers,
                                    timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            self._count(type(exc).__name__)
            return type(exc).__name__, None
        self._count(response.status_code)
        accepted = response.status_code in (200, 201, 202)
        return response.status_code, response.json()["order_id"] if accepted else None

    def _count(self, status):
        with self._lock:
            self.statuses[status] += 1
