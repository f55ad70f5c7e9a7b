"""Long polling: `GET /orders/<id>?wait=<s>` answers as soon as the order is final.

The lesson: a client that wants an asynchronous outcome need not ask again and again; it can
ask once and let the server hold the answer until there is one (or until the wait is over).
The server must then learn of the change cheaply. The writer is another process (the orders
worker's tracker, choreographed) or any of the API's gunicorn workers (the orchestrator's
POST /orders/<id>/outcome), so no in-process signal from the writer reaches a waiting
request. Instead ONE watcher thread per API process asks the database, for every order awaited
in that process at once, which ones left PENDING, and hands each waiter its order as read.

One request may also wait for many orders (`POST /orders/outcomes?wait=<s>`): it is answered as
soon as any of them is final, with every one of them that the same round found final, so a
client with many orders in flight learns their outcomes from a few requests, not one each.
"""
import logging
import math
import re
import threading
import time

from flask import current_app, request
from sqlalchemy import bindparam, select

from shared.domain import orders
from shared.http.validation import ValidationError
from shared.models.orders import orders as orders_table
from shared.runtime import config
from shared.runtime.db import read_only

log = logging.getLogger(__name__)

# The answer to a wait that found no free slot: the order as it stands, at once, with this
# header, so the client knows to pause a little before it asks again.
REFUSED_HEADER, REFUSED_SLOTS = "Wait-Refused", "slots"
NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", re.ASCII)  # not "-1", "nan", "٣"
EXTENSION = "order_waits"  # the app.extensions key of the process's OrderWaits

# Built once, run with the awaited ids as an expanding parameter (Trade-off 46).
LEFT_PENDING = select(orders_table).where(
    orders_table.c.order_id.in_(bindparam("ids", expanding=True)),
    orders_table.c.status != orders.PENDING)


STATES = select(orders_table.c.order_id, orders_table.c.status).where(
    orders_table.c.order_id.in_(bindparam("ids", expanding=True)))


def final_and_pending(session, order_ids):
    """Return ({order_id: order} of the final ones, [ids still PENDING]) among order_ids;
    an id in neither is unknown. Whole rows are read only for the final ones."""
    states = dict(session.execute(STATES, {"ids": order_ids}).all())
    pending = [i for i in order_ids if states.get(i) == orders.PENDING]
    if len(pending) == len(states):
        return {}, pending
    rows = session.execute(LEFT_PENDING, {"ids": order_ids}).mappings().all()
    final = {row["order_id"]: orders.to_dict(row) for row in rows}
    # An order may be finished between the two reads: it is final then, not also pending.
    return final, [i for i in pending if i not in final]


def wait_query():
    """Return the OpenAPI schema of the `wait` query parameter."""
    return {"type": "number", "minimum": 0, "maximum": config.order_wait_max_s(),
            "description": "seconds to wait for the order to leave PENDING (0: answer at once); "
                           f"a wait no slot is free for is answered at once with "
                           f"{REFUSED_HEADER}: {REFUSED_SLOTS}"}


def wait_arg():
    """Return the `wait` of the query string in seconds (0 when absent), or raise a 400."""
    given = request.args.get("wait")
    if given is None:
        return 0.0
    most = config.order_wait_max_s()
    seconds = float(given) if NUMBER.fullmatch(given) else math.nan
    if not 0 <= seconds <= most:  # NaN fails this too
        raise ValidationError({"wait": f"must be a number of seconds from 0 to {most:g}"})
    return seconds


def install(state):
    """Give the app being set up (a blueprint's record_once) its process's OrderWaits."""
    app = state.app
    app.extensions.setdefault(EXTENSION, OrderWaits(
        app.extensions["session_factory"], config.order_wait_check_ms() / 1000,
        config.order_wait_slots()))


def this_process():
    """Return the OrderWaits of the current app."""
    return current_app.extensions[EXTENSION]


class NoFreeSlot(Exception):
    """Every wait slot of this process is taken: answer at once, with REFUSED_HEADER."""


class Waiter:
    """One waiting request: the watcher hands it each awaited order that left PENDING (all
    those of one round before the request reads them: _wake holds the lock that
    OrderWaits.wait takes to unregister), and wakes it."""

    def __init__(self):
        self.orders, self._woken = {}, threading.Event()

    def hand(self, order):
        """Give the waiter an order as the watcher read it, and wake it."""
        self.orders[order["order_id"]] = order
        self._woken.set()

    def wait(self, timeout_s):
        """Return whether an order was handed over within timeout_s."""
        return self._woken.wait(timeout_s)


class OrderWaits:
    """The orders awaited in this process, and the one watcher thread that wakes their waiters."""

    def __init__(self, session_factory, check_s, slots):
        self._session_factory, self._check_s = session_factory, check_s
        # Trade-off 69: a waiting request holds one of gunicorn's threads (gthread) while it
        # waits: the route stays plain Flask, with no event loop beside it. The slots bound those
        # threads, so waits never take the threads other requests need; a wait that finds no
        # free slot is answered at once and the client pauses before asking again. The cost: a
        # thread (its stack, a place in the pool) per waiting client, so the orders API runs
        # ORDER_WAIT_SLOTS more threads (runner/processes.py), and past the slots clients poll.
        self._slots = threading.BoundedSemaphore(slots) if slots else None
        self._lock = threading.Lock()  # guards the two below
        self._waiters = {}  # order_id -> the Waiter of each request waiting for it
        self._watching = False

    def wait(self, order_ids, timeout_s):
        """Wait until one of the orders leaves PENDING or timeout_s pass. Return {order_id:
        order} of those the watcher found final in that round (the API's representation),
        empty when the time ran out; raise NoFreeSlot at once when every slot is taken."""
        if self._slots is None or not self._slots.acquire(blocking=False):
            raise NoFreeSlot()
        try:
            waiter = Waiter()
            self._register(order_ids, waiter)
            try:
                waiter.wait(timeout_s)
            finally:
                self._unregister(order_ids, waiter)
            return waiter.orders  # complete: unregistering waited for the round to end
        finally:
            self._slots.release()

    def waiting(self):
        """Return how many requests of this process wait now."""
        with self._lock:
            return len(set().union(*self._waiters.values()))

    def _register(self, order_ids, waiter):
        with self._lock:
            for order_id in order_ids:
                self._waiters.setdefault(order_id, set()).add(waiter)
            if not self._watching:  # started on the first wait, again after an idle stop
                self._watching = True
                threading.Thread(target=self._watch, name="order-waits", daemon=True).start()

    def _unregister(self, order_ids, waiter):
        with self._lock:
            for order_id in order_ids:
                waiters = self._waiters[order_id]
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[order_id]

    def _watch(self):
        """Every check interval, wake the waiters of awaited orders that left PENDING; stop
        when nobody waits (the next wait starts a new watcher)."""
        while True:
            time.sleep(self._check_s)
            with self._lock:
                if not self._waiters:
                    self._watching = False
                    return
                awaited = list(self._waiters)
            self._wake(self._left_pending(awaited))

    def _left_pending(self, awaited):
        # Trade-off 70: one query per round for every order awaited in this process, whatever
        # the number of waiters: the database sees at most one small read per process every
        # ORDER_WAIT_CHECK_MS, not one per waiting client. The cost: a waiter learns of the
        # change up to ORDER_WAIT_CHECK_MS late, and a round costs a query even when nothing
        # changed. The query asks for a state, not a change, so an order that left PENDING
        # just before its waiter registered is still found on the next round. The round reads
        # whole rows, so a woken request answers with what the watcher read, without a read
        # of its own (a final order does not change again).
        try:
            with read_only(self._session_factory) as session:  # a connection of its own
                rows = session.execute(LEFT_PENDING, {"ids": awaited}).mappings().all()
                return [orders.to_dict(row) for row in rows]
        except Exception:  # the waiters then run out their time; the next round tries again
            log.exception("order waits: could not read the awaited orders")
            return []

    def _wake(self, finished):
        with self._lock:
            for order in finished:
                for waiter in self._waiters.get(order["order_id"], ()):
                    waiter.hand(order)
