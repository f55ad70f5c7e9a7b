"""Fixtures' helpers for the orchestrated variant's integration tests: a real stack of gunicorn
processes on SQLite, started from the runner's own process table, on ports 28000-28999.

Each test module starts its own stack (its own ports and VAR_DIR under var/test-orch-*), so
tests never share state with each other, with the e2e suite, or with a running `make up-orch`.
"""
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
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
        "ORCH_ARCHIVE_EVERY_S": "0", "LOG_LEVEL": "INFO"}


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
    """Check invariant 2 for every SKU once quiet: nothing reserved, nothing lost."""
    for item in stack.get("inventory-api", "/stock")["items"]:
        assert item["initial"] == item["available"] + item["reserved"] + item["committed"]
        assert item["reserved"] == 0, item
