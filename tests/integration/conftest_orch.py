"""Fixtures' helpers for the orchestrated variant's integration tests: a real stack of gunicorn
processes on SQLite, started from the runner's own process table, on ports 28000-28999.

Each test module starts its own stack (its own ports and VAR_DIR under var/test-orch-*), so
tests never share state with each other, with the e2e suite, or with a running `make up-orch`.
"""
import dataclasses
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path
from unittest import mock

import requests

from runner import processes
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]
OFFSETS = {"ORCHESTRATOR_PORT": 0, "INVENTORY_PORT": 1, "PAYMENTS_PORT": 2, "SHIPPING_PORT": 3,
           "NOTIFICATIONS_PORT": 4, "ORDERS_PORT": 10}
FAST = {"ORCH_LEASE_TTL_MS": "3000", "ORCH_RECOVERY_EVERY_MS": "300",
        "ORDERS_HANDOVER_AFTER_MS": "6000", "ORCH_SYNC_BUDGET_MS": "3000",
        "ORCH_ARCHIVE_EVERY_S": "0", "LOG_LEVEL": "INFO", "OTEL_BSP_SCHEDULE_DELAY": "200",
        # Every service's server span keeps the request's key and correlation id, and whether
        # its answer was a replay: work_done() counts from them the commands whose work ran.
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST":
            "Idempotency-Key,X-Correlation-Id",
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE": "Idempotent-Replayed"}


def order_body(**changes):
    """Return a valid POST /orders body (completes unless changed), with `changes` applied."""
    body = {"customer_id": "cust-it", "items": [{"sku": "MUG-RED", "quantity": 1}],
            "payment": {"card_token": "tok_visa"},
            "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin",
                                 "postcode": "10115", "country": "DE"}}
    body.update(changes)
    return body


def wait_until(predicate, timeout, every=0.3, what="condition"):
    """Poll predicate() until it returns a truthy value; fail after `timeout` seconds."""
    return wait_for(predicate, timeout=timeout, every=every, message=what)


class OrchStack:
    """The orchestrated variant's processes, started and stopped by one test module."""

    def __init__(self, name, base_port, replicas=1, env=None):
        self.var_dir = ROOT / "var" / f"test-orch-{name}"
        self.base_port, self.replicas = base_port, replicas
        ports = {k: str(base_port + v) for k, v in OFFSETS.items()}
        self.env = {**os.environ, **FAST, **ports, **(env or {}), "VARIANT": "orch",
                    "VAR_DIR": str(self.var_dir), "ORCH_REPLICAS": str(replicas),
                    "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'orders-orch'}",
                    "PYTHONUNBUFFERED": "1",  # the service credential, as the runner sets it:
                    "SERVICE_TOKEN": os.environ.get("SERVICE_TOKEN") or secrets.token_urlsafe(16)}
        with mock.patch.dict(os.environ, self.env):
            self.programs = {p.name: p for p in processes.orch(replicas)}
        self.procs, self.lock = {}, None

    def credential(self):
        """Return the header an internal command needs (a test calling one directly)."""
        return {"Authorization": f"Bearer {self.env['SERVICE_TOKEN']}"}

    def url(self, name):
        """Return the base URL of a program, e.g. `orders-api` or `orchestrator-1`."""
        return f"http://127.0.0.1:{self.programs[name].port}"

    def start(self, timeout=60):
        """Start every program from an empty VAR_DIR and wait until all are healthy."""
        self._take_lock(timeout=300)
        for name, program in self.programs.items():
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", program.port)) == 0:
                    raise RuntimeError(f"port {program.port} of {name} is already in use")
        shutil.rmtree(self.var_dir, ignore_errors=True)
        (self.var_dir / "logs").mkdir(parents=True)
        for name in self.programs:
            self.start_program(name)
        for name in self.programs:
            self.wait_healthy(name, timeout)

    def _take_lock(self, timeout):
        """Wait until no other test run uses this stack's ports and VAR_DIR (bounded)."""
        self.var_dir.parent.mkdir(parents=True, exist_ok=True)
        self.lock = open(self.var_dir.with_suffix(".lock"), "w")
        wait_until(lambda: _try_lock(self.lock), timeout, every=1,
                   what=f"another run of {self.var_dir.name} to finish")

    def start_program(self, name):
        """Start one program in its own process group, its output appended to its log."""
        program = self.programs[name]
        log = open(self.var_dir / "logs" / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            program.command, env={**self.env, **program.environment}, cwd=ROOT,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_healthy(self, name, timeout=60):
        """Wait until the program answers GET /health with 200."""
        def healthy():
            try:
                return requests.get(f"{self.url(name)}/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_until(healthy, timeout, what=f"{name} to be healthy")

    def kill(self, name, sig=signal.SIGKILL):
        """Signal a program's process group (master and workers) and wait for the master."""
        _wait_gone(self._signal(name, sig))

    def _signal(self, name, sig):
        """Signal a program's process group; return its master process (to wait for)."""
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        return proc

    def stop(self):
        """Stop every program this stack started, and release the stack's lock."""
        # All at once, then wait: each gunicorn takes its --graceful-timeout to exit, which
        # one after the other added up to ten seconds and more per stack.
        for proc in [self._signal(name, signal.SIGTERM) for name in list(self.procs)]:
            _wait_gone(proc)
        if self.lock:
            self.lock.close()  # releases the flock
            self.lock = None

    def place(self, body=None, key=None, timeout=15):
        """POST /orders and return the response."""
        headers = {"Idempotency-Key": key} if key else {}
        return requests.post(f"{self.url('orders-api')}/orders", json=body or order_body(),
                             headers=headers, timeout=timeout)

    def get(self, name, path, **params):
        """GET a path of a program and return the JSON body."""
        answer = requests.get(f"{self.url(name)}{path}", params=params, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def order(self, order_id):
        """Return an order as the public API shows it."""
        return self.get("orders-api", f"/orders/{order_id}")

    def all_final(self, order_ids):
        """Return True when every order is COMPLETED or CANCELLED."""
        return all(self.order(o)["status"] != "PENDING" for o in order_ids)

    def saga(self, order_id, replica=0):
        """Return a saga with its log from the orchestrator."""
        return self.get(f"orchestrator-{replica}", f"/sagas/{order_id}")

    def rows(self, service, sql, *args):
        """Read rows of a service's own SQLite database (the test's): what the API does not show."""
        path = self.var_dir / "orch" / f"{service}.db"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, args).fetchall()

    def set_environment(self, name, **values):
        """Change a program's environment for its next start (a None value removes a variable)."""
        program = self.programs[name]
        environment = {**program.environment, **values}
        self.programs[name] = dataclasses.replace(program, environment={
            k: v for k, v in environment.items() if v is not None})

    def exit_code(self, name, timeout):
        """Wait until a program's master process exits by itself; return its exit code."""
        return self.procs.pop(name).wait(timeout=timeout)


def _wait_gone(proc):
    """Wait for a signalled master process; kill its group when it takes over 15 s."""
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=15)


def _try_lock(handle):
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


# What a cancelled order's payments must be, by reason: nothing charged before the stock
# failed, one declined charge, one refunded capture when shipping was unavailable.
CANCELLED_PAYMENTS = {"out_of_stock": [], "payment_declined": ["declined"],
                      "shipping_unavailable": ["refunded"]}


def assert_order_invariants(stack, order_id):
    """Check docs/domain.md's invariants 3-5 for one final order, through the inspection API."""
    order = stack.order(order_id)
    payments = stack.get("payments-api", "/payments", order_id=order_id)["items"]
    shipments = stack.get("shipping-api", "/shipments", order_id=order_id)["items"]
    notes = stack.get("notifications-api", "/notifications", order_id=order_id)["items"]
    assert len(notes) == 1 and notes[0]["outcome"] == order["status"].lower()
    if order["status"] == "COMPLETED":
        assert [(p["status"], p["amount_cents"]) for p in payments] == [
            ("captured", order["total_cents"])]
        assert [s["status"] for s in shipments] == ["booked"]
    else:  # exactly what each reason leaves behind: `all()` of an empty list proved nothing
        assert [p["status"] for p in payments] == CANCELLED_PAYMENTS[order["reason"]], payments
        assert [s["status"] for s in shipments] == [], shipments
    return order


def assert_stock_conserved(stack):
    """Check invariant 2 for every SKU once quiet: nothing reserved, nothing lost, and every
    committed unit sold to a COMPLETED order the orders service holds."""
    for item in stack.get("inventory-api", "/stock")["items"]:
        assert item["initial"] == item["available"] + item["reserved"] + item["committed"]
        assert item["reserved"] == 0, item
    assert_stock_committed_as_sold(stack)


def assert_stock_committed_as_sold(stack):
    """Check that each SKU's committed units are exactly those of the COMPLETED orders the
    orders service holds: a saga that went on for an order that is gone breaks it."""
    sold = Counter()
    for (items,) in stack.rows("orders", "SELECT items FROM orders WHERE status = 'COMPLETED'"):
        for line in json.loads(items):
            sold[line["sku"]] += line["quantity"]
    committed = {i["sku"]: i["committed"] for i in stack.get("inventory-api", "/stock")["items"]}
    assert committed == {sku: sold.get(sku, 0) for sku in committed}, (committed, sold)


# --- What the services actually did, per step: the observable of "each step ran once". ---
# A saga log can say "succeeded" once per step while a service did the work twice (a lost
# answer retried without its key); one payment row per order hides that too. So the tests count
# in the services themselves: each step's Idempotency-Key row, and each request whose work ran
# (a server span of a command that answered 2xx or 409 without Idempotent-Replayed).
# Trade-off 65: work is counted from the services' own server spans (with the request's key and
# correlation id and the replay header captured), so the services carry no test-only counter or
# route. It costs a dependence on tracing: with OTEL_SDK_DISABLED=true, or an instrumentation
# that names its attributes otherwise, these tests fail for want of spans (never pass blind).
RESERVE, COMMIT, RELEASE = (("inventory", r) for r in (
    "/reservations", "/reservations/<order_id>/commit", "/reservations/<order_id>/release"))
CHARGE, REFUND = ("payments", "/payments"), ("payments", "/payments/<order_id>/refund")
BOOK = ("shipping", "/shipments")
SETTLE, NOTIFY = ("orders", "/orders/<order_id>/outcome"), ("notifications", "/notifications")
# The commands each outcome's saga makes, each exactly once, as (service, route, key suffix);
# a compensation is keyed by the step it undoes: `<saga_id>:<step>:undo`.
STEPS = {
    "completed": [(*RESERVE, "reserve_stock:do"), (*CHARGE, "charge_payment:do"),
                  (*BOOK, "book_shipment:do"), (*COMMIT, "commit_stock:do"),
                  (*SETTLE, "complete_order:do"), (*NOTIFY, "notify_customer:do")],
    "out_of_stock": [(*RESERVE, "reserve_stock:do"), (*SETTLE, "cancel_order:do"),
                     (*NOTIFY, "notify_customer:do")],
    "payment_declined": [(*RESERVE, "reserve_stock:do"), (*CHARGE, "charge_payment:do"),
                         (*RELEASE, "reserve_stock:undo"), (*SETTLE, "cancel_order:do"),
                         (*NOTIFY, "notify_customer:do")],
    "shipping_unavailable": [(*RESERVE, "reserve_stock:do"), (*CHARGE, "charge_payment:do"),
                             (*BOOK, "book_shipment:do"), (*REFUND, "charge_payment:undo"),
                             (*RELEASE, "reserve_stock:undo"), (*SETTLE, "cancel_order:do"),
                             (*NOTIFY, "notify_customer:do")],
}
SERVICES = ("inventory", "payments", "shipping", "orders", "notifications")
COMMANDS = {(service, route) for steps in STEPS.values() for service, route, _ in steps}


def work_done(stack):
    """Return how many times each (service, route, correlation id) command's work ran."""
    ran = Counter()
    for span in _spans(stack):
        attributes = span["attributes"]
        status = attributes.get("http.status_code", attributes.get("http.response.status_code"))
        method = attributes.get("http.method", attributes.get("http.request.method"))
        replayed = attributes.get("http.response.header.idempotent_replayed")
        correlation = attributes.get("http.request.header.x_correlation_id") or ["-"]
        command = (span["service"], attributes.get("http.route"))
        if span["kind"] == "SERVER" and method == "POST" and command in COMMANDS \
                and status in (200, 201, 409) and not replayed:
            ran[(*command, correlation[0])] += 1
    return ran


def _spans(stack):
    path = stack.var_dir / "orch" / "traces.jsonl"
    assert path.exists(), f"no spans in {path}: the work counts need tracing on"
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def work_done_when_quiet(stack):
    """Return work_done() once the services' spans are all written."""
    reads = []

    def settled():  # spans are written in batches: read until two reads a second apart agree
        reads.append(work_done(stack))
        return len(reads) > 1 and reads[-1] == reads[-2] and reads[-1]
    return wait_until(settled, 20, every=1, what="the services' spans to be written")


def steps_done(stack, order_ids):
    """Return, per order, the work each step's command ran, once the services' spans are in."""
    ran, done = work_done_when_quiet(stack), {}
    for order_id in order_ids:
        # The order's correlation id is its saga's (and rides on every call of the saga).
        (correlation,), = stack.rows("orders", "SELECT correlation_id FROM orders "
                                     "WHERE order_id = ?", order_id)
        done[order_id] = Counter({(s, r): n for (s, r, c), n in ran.items() if c == correlation})
    return done


def keys_stored(stack, order_ids):
    """Return, per order, the (service, key suffix) of every Idempotency-Key row with an answer."""
    stored = {order_id: Counter() for order_id in order_ids}
    for service in SERVICES:
        for key, status in stack.rows(service, "SELECT key, status_code FROM idempotency_keys"):
            order_id, _, suffix = key.partition(":")
            if order_id in stored and status:
                stored[order_id][(service, suffix)] += 1
    return stored


def outcome_of(order):
    """Return the saga outcome an order ended with: completed, or its cancellation reason."""
    return "completed" if order["status"] == "COMPLETED" else order["reason"]


def assert_each_step_worked_once(stack, order_ids):
    """Check that every step of each order's saga did its work exactly once in its service,
    under its own Idempotency-Key (and no step of another outcome ran at all)."""
    done, keys = steps_done(stack, order_ids), keys_stored(stack, order_ids)
    steps = {order_id: STEPS[outcome_of(stack.order(order_id))] for order_id in order_ids}
    ran_otherwise = {order_id: dict(done[order_id]) for order_id in order_ids
                     if done[order_id] != Counter((s, r) for s, r, _ in steps[order_id])}
    assert not ran_otherwise, f"work that ran per step, where not once each: {ran_otherwise}"
    keyed_otherwise = {order_id: dict(keys[order_id]) for order_id in order_ids
                       if keys[order_id] != Counter((s, k) for s, _, k in steps[order_id])}
    assert not keyed_otherwise, f"idempotency keys, where not one per step: {keyed_otherwise}"
