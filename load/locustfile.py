"""One Locust user for both variants: place an order, then wait for it until it is final.

    locust -f load/locustfile.py --host http://127.0.0.1:8001     (choreographed, `make load-choreo`)
    locust -f load/locustfile.py --host http://127.0.0.1:8002     (orchestrated, `make load-orch`)

The variant is chosen by --host only. Two latencies are recorded as separate Locust entries,
so the choreographed `202` is never compared with the orchestrated `201`:

- `POST /orders`: the time until the order is accepted (202) or, in orch, often already final (201);
- `order final` (type SAGA): from the POST until the order is COMPLETED or CANCELLED, fired with
  `events.request.fire`; for a 201 the saga is final in the answer, so it equals the POST time.

A PENDING order is waited for, not polled: `GET /orders/<id>?wait=<s>` (the entry
`GET /orders/[id]?wait`) answers as soon as the order is final, or after s seconds (LOAD_WAIT_S,
at most the server's ORDER_WAIT_MAX_S) still PENDING, and the user asks again until
LOAD_FINAL_WITHIN_S. A wait the server refuses (no free slot: the header `Wait-Refused`) is
answered at once; the user then pauses (0.1 s, backing off to LOAD_POLL_MAX_S) before it asks again.

A `429` (the orchestrator sheds load) is recorded as `POST /orders [429 shed]`, not as an error.
Two shapes, chosen by LOAD_PACING_S:
- unset or 0 (closed loop): each user places its next order when the last one is final, so the
  throughput shows what the system sustains (the steady ramp, the slow dependency);
- N > 0 (open loop): each user places an order every N seconds and waits for its outcome in a
  greenlet of its own, so orders keep arriving whatever happens to the ones before (the outage:
  new customers do not wait for a broken payment service).

The outcome mix comes from LOAD_MIX, e.g. `completed=7,out_of_stock=1,payment_declined=1,
shipping_unavailable=1` (weights, the default). Traffic only ever goes to --host.

With LOAD_LEDGER set to a ledger file (audit/ledger.py), every POST carries an Idempotency-Key
and is recorded there with its answer, so the audit can check every order it was told about.
"""
import os
import random
import time
import uuid

import gevent
from locust import FastHttpUser, constant, constant_pacing, events, task

from audit.ledger import Ledger

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postcode": "10115",
           "country": "DE"}
# One order body per outcome of docs/domain.md (as tests/support.py OUTCOMES), with its final status.
# LAMP-LIMITED has 25 units: asking 100 is always out of stock and never drains it.
OUTCOMES = {
    "completed": (("MUG-RED", 2, "tok_visa", "DE"), "COMPLETED"),
    "out_of_stock": (("LAMP-LIMITED", 100, "tok_visa", "DE"), "CANCELLED"),
    "payment_declined": (("MUG-BLUE", 1, "tok_declined", "DE"), "CANCELLED"),
    "shipping_unavailable": (("TEE-BLACK", 3, "tok_visa", "AQ"), "CANCELLED"),
}
DEFAULT_MIX = "completed=7,out_of_stock=1,payment_declined=1,shipping_unavailable=1"
# One wait lasts LOAD_WAIT_S at most (the server refuses more than ORDER_WAIT_MAX_S, 10 s).
WAIT_S = float(os.environ.get("LOAD_WAIT_S", "10"))
WAITED = "GET /orders/[id]?wait"  # the Locust entry of one wait (load/results.py reads it)
# After a refused wait (or an error) the user pauses from 0.1 s, backing off by a quarter up to
# 0.5 s: a server out of wait slots is not asked 10 times a second by each user.
POLL_FIRST_S, POLL_MAX_S = 0.1, float(os.environ.get("LOAD_POLL_MAX_S", "0.5"))
FINAL_WITHIN_S = float(os.environ.get("LOAD_FINAL_WITHIN_S", "120"))
PACING_S = float(os.environ.get("LOAD_PACING_S", "0") or 0)


def order_body(outcome, key):
    """Return the POST /orders body that ends in `outcome`, its customer named after its key:
    the ledger audit ties an order nobody was answered about to its key by the customer id."""
    (sku, quantity, card, country), _ = OUTCOMES[outcome]
    return {"customer_id": f"load-{key}", "items": [{"sku": sku, "quantity": quantity}],
            "payment": {"card_token": card}, "shipping_address": dict(ADDRESS, country=country)}


def parse_mix(text):
    """Return (outcomes, weights) from `completed=7,out_of_stock=1,...`."""
    pairs = [item.split("=") for item in text.replace(" ", "").split(",") if item]
    unknown = [name for name, _ in pairs if name not in OUTCOMES]
    if unknown:
        raise ValueError(f"LOAD_MIX: unknown outcome(s) {unknown}; choose from {list(OUTCOMES)}")
    return [name for name, _ in pairs], [float(weight) for _, weight in pairs]


class OrderUser(FastHttpUser):
    """A customer who places an order and waits for its outcome, again and again.

    FastHttpUser (geventhttpclient) instead of HttpUser (requests): the same user code at
    several times less CPU per request, so the load generator, which shares the machine with
    the services, takes less of it (every report shows its CPU apart).
    """

    wait_time = constant_pacing(PACING_S) if PACING_S else constant(0)
    # Open loop: every order still PENDING holds one connection while it is waited for, so a
    # user keeps more than FastHttpUser's 10, and its next POST never queues behind its waits.
    concurrency = 32

    @task
    def place_order_and_wait(self):
        """POST an order of the mix, then wait with GET /orders/<id>?wait until it is final."""
        outcome = random.choices(self.outcomes, self.weights)[0]
        started = time.perf_counter()
        key = uuid.uuid4().hex
        order = self._post(key, order_body(outcome, key), outcome)
        if order is None:
            return
        if PACING_S:  # open loop: the next order does not wait for this one
            gevent.spawn(self._wait_final, order, started, OUTCOMES[outcome][1])
        else:
            self._wait_final(order, started, OUTCOMES[outcome][1])

    def _wait_final(self, order, started, expected):
        if order["status"] == "PENDING":
            order = self._wait(order["order_id"], started)
        if order is not None:
            self._fire_final(started, order, expected)

    def _post(self, key, body, outcome):
        self._record(key, body, outcome, None)  # sent: Locust may stop before the answer
        with self.client.post("/orders", json=body, name="POST /orders", catch_response=True,
                              headers={"Idempotency-Key": key}) as response:
            self._record(key, body, outcome, response)
            if response.status_code == 429:
                response.request_meta["name"] = "POST /orders [429 shed]"
                response.success()
                time.sleep(float(response.headers.get("Retry-After", "1")))
                return None
            if response.status_code not in (201, 202):
                response.failure(f"POST /orders answered {response.status_code}")
                return None
            return response.json()

    def _wait(self, order_id, started):
        """Wait for the order until it is final (return it) or FINAL_WITHIN_S is over (None)."""
        pause = POLL_FIRST_S
        while (left := FINAL_WITHIN_S - (time.perf_counter() - started)) > 0:
            order, answered_at_once = self._wait_once(order_id, min(WAIT_S, max(left, 0.1)))
            if order is not None and order["status"] != "PENDING":
                return order
            if answered_at_once:  # refused, or an error: pause before asking again
                time.sleep(pause)
                pause = min(pause * 1.25, POLL_MAX_S)
        self._fire_final(started, None, "final", f"still PENDING after {FINAL_WITHIN_S:.0f}s")
        return None

    def _wait_once(self, order_id, wait_s):
        """One GET /orders/<id>?wait=<s>: return (the order or None, whether it did not wait)."""
        with self.client.get(f"/orders/{order_id}?wait={wait_s:.2f}", name=WAITED,
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{WAITED} answered {response.status_code}")
                return None, True
            return response.json(), "Wait-Refused" in response.headers

    def _record(self, key, body, outcome, response):
        """Write the attempt (response None: sent, no answer yet) to the ledger, if any."""
        if self.ledger is not None and response is None:
            self.ledger.record(key, body["customer_id"], outcome, None)
        elif self.ledger is not None:
            accepted = response.status_code in (201, 202)
            self.ledger.record(key, body["customer_id"], outcome, response.status_code or None,
                               response.json()["order_id"] if accepted else None)

    def _fire_final(self, started, order, expected, error=None):
        if error is None and order["status"] != expected:
            error = f"ended {order['status']} ({order['reason']}), expected {expected}"
        events.request.fire(request_type="SAGA", name="order final",
                            response_time=(time.perf_counter() - started) * 1000,
                            response_length=0, context={},
                            exception=AssertionError(error) if error else None)

    def on_start(self):
        """Read the outcome mix, open the ledger (LOAD_LEDGER) if any."""
        self.outcomes, self.weights = parse_mix(os.environ.get("LOAD_MIX", DEFAULT_MIX))
        path = os.environ.get("LOAD_LEDGER")
        self.ledger = Ledger(path) if path else None
