"""Helpers the integration and end-to-end tests share: order bodies, and starting the runner."""
import contextlib
import copy
import importlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from audit.ledger import EXPECTED, Ledger
from runner.folders import reachable
from runner.postgres import Cluster
from shared.runtime import config

ROOT = Path(__file__).resolve().parent.parent

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postcode": "10115",
           "country": "DE"}
VALID_ORDER = {"customer_id": "cust-42", "items": [{"sku": "MUG-RED", "quantity": 2}],
               "payment": {"card_token": "tok_visa"}, "shipping_address": ADDRESS}


def order(sku="MUG-RED", quantity=2, card="tok_visa", country="DE", customer="cust-42"):
    """Return a valid order body with the given details."""
    body = copy.deepcopy(VALID_ORDER)
    body["customer_id"] = customer
    body["items"] = [{"sku": sku, "quantity": quantity}]
    body["payment"]["card_token"] = card
    body["shipping_address"]["country"] = country
    return body


# One body per outcome of docs/domain.md, with the status and reason it must end in.
OUTCOMES = {
    "completed": (order("MUG-RED", 2), "COMPLETED", None),
    "out_of_stock": (order("LAMP-LIMITED", 100), "CANCELLED", "out_of_stock"),
    "payment_declined": (order("MUG-BLUE", 1, card="tok_declined"), "CANCELLED",
                         "payment_declined"),
    "shipping_unavailable": (order("TEE-BLACK", 3, country="AQ"), "CANCELLED",
                             "shipping_unavailable"),
}


def post_recorded(session, base_url, ledger, scope, n, outcome, timeout=60):
    """POST the n-th order of a ledgered client (customer and key `<scope><n>`), asking for
    `outcome`; record the attempt in the ledger; return the response."""
    key = f"{scope}{n}"
    body = dict(OUTCOMES[outcome][0], customer_id=key)
    try:
        response = session.post(f"{base_url}/orders", json=body, timeout=timeout,
                                headers={"Idempotency-Key": key})
    except Exception as exc:
        ledger.record(key, key, outcome, type(exc).__name__)
        raise
    accepted = response.status_code in (200, 201, 202)
    ledger.record(key, key, outcome, response.status_code,
                  response.json()["order_id"] if accepted else None)
    return response


def endings(asked):
    """Return how orders asked for `{outcome: n}` must end, as audit.ledger.tally writes it."""
    found = {}
    for outcome, n in asked.items():
        status, reason = EXPECTED[outcome]
        name = f"{status}/{reason}" if reason else status
        found[name] = found.get(name, 0) + n
    return found


def new_ledger(folder, name):
    """Start a ledger under `folder` whose customers are `<name>-<time>-<n>`; return (ledger, scope)."""
    scope = f"{name}-{time.time_ns() % 10**12}-"
    return Ledger(Path(folder) / f"{scope}ledger.jsonl", scope), scope


def moved_ports(variant, offset):
    """Return the environment that moves every port of a variant by `offset`."""
    return {f"{s.upper()}_PORT": str(p + offset) for s, p in config.DEFAULT_PORTS[variant].items()}


class RunningVariant:
    """A variant started by `python -m runner up`, exactly as `make up-<variant>` starts it."""

    def __init__(self, variant, var_dir, env, replicas=1, db="sqlite"):
        self.variant, self.var_dir, self.env = variant, Path(var_dir), dict(os.environ, **env)
        self.env.update(VAR_DIR=str(self.var_dir), VARIANT=variant)
        self.replicas, self.db = replicas, db
        self.output, self.process = [], None

    def url(self, service):
        """Return a service's base URL."""
        return f"http://127.0.0.1:{self.env[f'{service.upper()}_PORT']}"

    def start(self, timeout=180):
        """Start the runner and wait for its "is up" line."""
        shutil.rmtree(self.var_dir / self.variant, ignore_errors=True)
        if self.db == "postgres":  # a fresh cluster, as fresh as the SQLite files above
            shutil.rmtree(reachable(self.var_dir / "postgres"), ignore_errors=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runner", "up", self.variant, "--replicas", str(self.replicas),
             "--db", self.db],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not any(" is up" in line for line in self.output):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the runner did not come up:\n" + "".join(self.output[-60:]))
            time.sleep(0.2)

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)

    def runner(self, *args):
        """Run another runner command against this variant (e.g. stop-service)."""
        return subprocess.run([sys.executable, "-m", "runner", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=60, check=True)

    def pids(self):
        """Return the pid of every program the runner supervises."""
        status = self.runner("status", self.variant).stdout
        return [int(line.split("pid")[1]) for line in status.splitlines()
                if "pid" in line and int(line.split("pid")[1]) > 0]

    def stop(self, timeout=30):
        """Send SIGTERM as Ctrl-C would, and return the seconds the runner took to exit."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return time.monotonic() - started


# One wait of wait_final: within ORDER_WAIT_MAX_S's default; a refused wait pauses this long.
WAIT_S, REFUSED_PAUSE_S = 5.0, 0.1


def wait_final(session, base_url, order_id, timeout=60):
    """Wait with GET /orders/<id>?wait=<s>, again and again, until the order is COMPLETED or
    CANCELLED; return it. Raise AssertionError when it is still PENDING after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        wait_s = min(WAIT_S, max(deadline - time.monotonic(), 0.1))
        response = session.get(f"{base_url}/orders/{order_id}", params={"wait": f"{wait_s:.2f}"},
                               timeout=wait_s + 10)
        found = response.json()
        if found["status"] != "PENDING":
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"order {order_id} still PENDING after {timeout}s")
        if "Wait-Refused" in response.headers:  # no free slot: answered at once
            time.sleep(REFUSED_PAUSE_S)


def wait_for(predicate, timeout=60, every=0.2, message="condition"):
    """Poll predicate() until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(every)


def get_json(session, url):
    """GET a URL and return its JSON body (asserting a 200)."""
    response = session.get(url, timeout=10)
    assert response.status_code == 200, (url, response.status_code, response.text)
    return response.json()




def tree_on_path(variant):
    """Append a variant's tree to sys.path, for the modules whose names only that tree has:
    orders-orch's `orchestrator` and `commands` packages, orders-choreo's `service_worker`.
    The service packages both trees have (orders, payments, ...) go through choreo_modules() or
    orch_modules() instead, which put their tree first and forget what they imported."""
    folder = str(ROOT / f"orders-{variant}")
    if folder not in sys.path:
        sys.path.append(folder)


def choreo_modules(*names):
    """Import modules of orders-choreo/ (e.g. "payments.handlers") for a test, then forget them:
    orders-orch/ has packages with the same names, so none may stay cached."""
    return _variant_modules("orders-choreo", names)


def orch_modules(*names):
    """Import modules of orders-orch/ (e.g. "payments.api") for a test, then forget them."""
    return _variant_modules("orders-orch", names)


@contextlib.contextmanager
def _variant_modules(variant, names):
    folder, before = str(ROOT / variant), set(sys.modules)
    sys.path.insert(0, folder)
    try:
        yield [importlib.import_module(name) for name in names]
    finally:
        sys.path.remove(folder)
        # Only what this import brought in (a module imported before stays, e.g. orchestrator.*)
        for cached in [m for m, mod in sys.modules.items() if m not in before
                       and getattr(mod, "__file__", None) and mod.__file__.startswith(folder)]:
            del sys.modules[cached]


@contextlib.contextmanager
def throwaway_postgres(port, folder):
    """Start a PostgreSQL cluster of a test module's own under var/<folder>, empty; yield it,
    then stop it."""
    cluster = Cluster(port, ROOT / "var" / folder)
    shutil.rmtree(cluster.base, ignore_errors=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
