"""One drain measurement: start a variant, warm it up, place N orders at once, time the drain.

    start the variant (fresh data) -> W warm-up orders, wait until none is PENDING
    -> CPU snapshot -> N orders from T client threads (7/10 completed, 1/10 of each failure)
    -> wait until no order is PENDING -> CPU snapshot -> read the orders' final times -> stop

Unlike the Locust scenarios of `make demo`, the work is fixed (N orders), not the time: the
figure is how fast the system empties a backlog, and how much CPU each order cost every process.
The client is plain threads in this process (one HTTP session each); its CPU is measured apart.
"""
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import requests

from load.sampler import _with_children, listener_pid, program_service
from load.variant import uses_broker
from runner import postgres
from runner.broker import Broker

# The four outcomes of DOMAIN.md, as in load/locustfile.py OUTCOMES: (sku, quantity, card, country).
BODIES = {
    "completed": ("MUG-RED", 2, "tok_visa", "DE"),
    "out_of_stock": ("LAMP-LIMITED", 100, "tok_visa", "DE"),
    "payment_declined": ("MUG-BLUE", 1, "tok_declined", "DE"),
    "shipping_unavailable": ("TEE-BLACK", 3, "tok_visa", "AQ"),
}
MIX = ["completed"] * 7 + ["out_of_stock", "payment_declined", "shipping_unavailable"]
DRAIN_TIMEOUT_S = 600
MAX_SHED = 100  # a 429 is retried (a shed order is not an order), at most this often


def order_body(outcome, number):
    """Return the POST /orders body of one order that ends in `outcome`."""
    sku, quantity, card, country = BODIES[outcome]
    return {"customer_id": f"bench-{number % 97}", "items": [{"sku": sku, "quantity": quantity}],
            "payment": {"card_token": card},
            "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin",
                                 "postcode": "10115", "country": country}}


def outcomes(count):
    """Return `count` outcomes in the 7/1/1/1 mix, exactly, in a random order."""
    chosen = [MIX[i % len(MIX)] for i in range(count)]
    random.shuffle(chosen)
    return chosen


class Client:
    """T threads that place orders; each records its first POST's wall time, the last POST's
    ms, status and order id, and how often it was shed (429) before."""

    def __init__(self, url, threads):
        self.url, self.threads, self._local = url, threads, threading.local()

    def place(self, count):
        """Place `count` orders from the threads; return one record per order."""
        with ThreadPoolExecutor(self.threads, thread_name_prefix="client") as pool:
            return list(pool.map(self._post, enumerate(outcomes(count))))

    def place_paced(self, rate, seconds):
        """Place `rate` orders a second for `seconds`, each at its own moment whatever the
        answers of the others (an open loop, as customers arrive), as long as the answers
        leave a thread free (rate x answer time < threads); return one record per order."""
        count, start = max(1, int(rate * seconds)), time.monotonic() + 0.2

        def at_its_moment(numbered):
            late = start + numbered[0] / rate - time.monotonic()
            if late > 0:
                time.sleep(late)
            return self._post(numbered)
        with ThreadPoolExecutor(self.threads, thread_name_prefix="paced") as pool:
            return list(pool.map(at_its_moment, enumerate(outcomes(count))))

    def _post(self, numbered):
        """POST one order; on 429 wait Retry-After and send it again with the same key."""
        number, outcome = numbered
        if not hasattr(self._local, "http"):
            self._local.http = requests.Session()
        key, shed, wall = f"bench-{time.time()}-{number}", 0, time.time()
        while True:
            started = time.perf_counter()
            status, order_id, retry_after = self._send(order_body(outcome, number), key)
            if status != 429 or shed >= MAX_SHED:
                break
            shed += 1
            time.sleep(retry_after)
        return {"wall": wall, "ms": (time.perf_counter() - started) * 1000, "status": status,
                "order_id": order_id, "shed": shed}

    def _send(self, body, key):
        try:
            answer = self._local.http.post(f"{self.url}/orders", json=body, timeout=120,
                                           headers={"Idempotency-Key": key})
            return (answer.status_code, answer.json().get("order_id"),
                    float(answer.headers.get("Retry-After", "1")))
        except (requests.RequestException, ValueError):
            return None, None, 0


def wait_drained(variant, timeout=DRAIN_TIMEOUT_S):
    """Wait until no order is PENDING; return the monotonic time it was first seen so."""
    deadline = time.monotonic() + timeout
    with requests.Session() as http:
        while time.monotonic() < deadline:
            pending = http.get(f"{variant.url('orders')}/orders?status=PENDING&limit=1",
                               timeout=30).json()["items"]
            if not pending:
                return time.monotonic()
            time.sleep(0.1)
    raise TimeoutError(f"orders still PENDING after {timeout} s")


def cpu_snapshot(variant, extra_pids, row=None):
    """Return {who: CPU seconds so far}: each service (programs and children), broker, database.
    `row(program)` names a program's row (default: orchestrator replicas summed as one)."""
    pids = {name: pid for name, pid in variant.programs().items()}
    pids.update({who: pid for who, pid in extra_pids.items() if pid})
    totals = {}
    for name, pid in pids.items():
        who = name if name in extra_pids else (row or _process_name)(name)
        for proc in _with_children(pid):
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            totals[who] = totals.get(who, 0.0) + times.user + times.system
    return totals


def _process_name(program):
    """Return the row a program is reported under: `orders-api`, `orchestrator`, ..."""
    return "orchestrator" if program_service(program) == "orchestrator" else program


def client_cpu_s():
    """Return this process's CPU seconds so far (the client threads, and the bench around them)."""
    times = psutil.Process().cpu_times()
    return times.user + times.system


def extra_pids(variant, db):
    """Return {who: pid} of the processes outside the runner's table: broker, PostgreSQL."""
    pids = {}
    if uses_broker(variant.name):
        pids["broker"] = listener_pid(Broker(variant.env["AMQP_URL"], variant.var_dir).port)
    if db == "postgres":
        pids["postgres"] = listener_pid(int(variant.env.get("POSTGRES_PORT") or postgres.port()))
    return pids
