"""Under sustained load, a replica that starts second still gets its share of the shards.

Replica 0 starts alone and leases every shard. Orders then arrive without a pause from a
few clients, each waiting for its answer, behind a slow shipping service: every shard always
has a saga in flight on replica 0. Replica 1 starts. While orders are still arriving, the
shards must end 4 and 4: replica 0 gives back shards it is driving sagas of (Trade-off 77 in
orders-orch/orchestrator/shards.py), and those sagas are handed over mid-step. Afterwards the
ledger audit finds every order once and final, and each step's work ran once in its service
(a handed-over saga's step in flight is sent again by the new owner: a replay of its key)."""
import itertools
import threading
from collections import Counter

import pytest
import requests

from audit.__main__ import audit_when_quiet, report
from audit.fetch import snapshot
from audit.ledger import read, tally
from tests.integration.conftest_orch import OrchStack, assert_each_step_worked_once, wait_until
from tests.support import endings, new_ledger, post_recorded

CLIENTS = 40  # sagas in flight at once: a shard with none of them is rare ((7/8)**40: 0.5 %)
MOST_ORDERS = 600  # a bound on the load whatever happens; the test stops it well before
LATE = "orchestrator-1"


@pytest.fixture
def stack():
    """Two replicas, of which only replica 0 is started; slow shipping keeps sagas in flight."""
    running = OrchStack("shards-load", 28000, replicas=2,
                        env={"SHIPPING_FAULT_LATENCY_MS": "400"})
    late = running.programs.pop(LATE)  # start() starts every program it lists
    try:
        running.start()
        running.programs[LATE] = late
        yield running
    finally:
        running.stop()


class Load:
    """CLIENTS clients placing orders one after another (each waits for its answer) until
    stopped, or `exhausted` after MOST_ORDERS; every attempt goes to the ledger."""

    def __init__(self, urls, ledger, scope):
        self.urls, self.ledger, self.scope = urls, ledger, scope
        self.numbers, self.placed, self.stopping = itertools.count(), [], threading.Event()
        self.exhausted = threading.Event()
        self.clients = [threading.Thread(target=self._client) for _ in range(CLIENTS)]

    def start(self):
        for client in self.clients:
            client.start()

    def stop(self):
        self.stopping.set()
        for client in self.clients:
            client.join()
        return [answer.json()["order_id"] for answer in self.placed]

    def _client(self):
        with requests.Session() as session:
            for n in self.numbers:  # shared: each client takes the next number
                if n >= MOST_ORDERS:
                    self.exhausted.set()
                if self.stopping.is_set() or self.exhausted.is_set():
                    return
                self.placed.append(post_recorded(session, self.urls["orders"], self.ledger,
                                                 self.scope, n, "completed", timeout=30))


def _owners(stack):
    return Counter(s["owner_url"] for s in stack.get("orchestrator-0", "/shards")["items"])


def _running_shards(stack):
    return {s["shard"] for s in stack.get("orchestrator-0", "/sagas", state="running",
                                          limit=1000)["items"]}


@pytest.mark.timeout(180)
def test_a_replica_started_under_sustained_load_gets_its_share_of_the_shards(stack, tmp_path):
    first, late = stack.url("orchestrator-0"), stack.url(LATE)
    wait_until(lambda: _owners(stack) == {first: 8}, 10, what="replica 0 to lease every shard")
    ledger, scope = new_ledger(tmp_path, "shards")
    urls = {s: stack.url(f"{s}-api") for s in ("orders", "inventory", "payments", "shipping",
                                                "notifications")}
    load = Load(urls, ledger, scope)
    load.start()
    try:
        wait_until(lambda: _running_shards(stack) == set(range(8)), 15, every=0.1,
                   what="sagas in flight on every shard")
        stack.start_program(LATE)
        stack.wait_healthy(LATE)
        wait_until(lambda: _owners(stack) == {first: 4, late: 4}, 15,
                   what="the shards to be shared 4 and 4 under load")
        assert not load.exhausted.is_set(), "the load ended before the shards were shared"
        balanced_at = len(load.placed)  # and sagas go on through both replicas
        wait_until(lambda: len(load.placed) >= balanced_at + CLIENTS, 15,
                   what="more orders to be answered after the balance")
    finally:
        order_ids = load.stop()
    assert _handed_over(stack), "some sagas were handed over mid-step (their shard was busy)"

    results, _ = audit_when_quiet("orch", urls, 90, ledger=ledger.path, orchestrator_url=first)
    assert report(results), [v for _, _, v in results if v]
    n = len(order_ids)
    assert tally(read(ledger.path)[1], snapshot(urls)) == {
        "sent": n, "accepted": n, "asked": {"completed": n}, "ended": endings({"completed": n})}
    assert_each_step_worked_once(stack, order_ids)


def _handed_over(stack):
    """Return the lines of replica 0's log that name a saga it stopped driving (replica.py
    logs each LeaseLost): a saga whose shard it gave back while driving it."""
    log = (stack.var_dir / "logs" / "orchestrator-0.log").read_text()
    return [line for line in log.splitlines() if ": stopped driving: " in line]
