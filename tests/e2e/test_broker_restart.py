"""Choreographed: a broker restart in the middle of a stream of orders loses none of them."""
import threading
import time

import pytest
import requests

from audit.__main__ import audit_when_quiet, report
from audit.fetch import snapshot
from audit.ledger import read, tally
from tests.support import OUTCOMES, endings, new_ledger, post_recorded, wait_final

ORDERS = 50


def test_orders_placed_across_a_broker_restart_all_finish_with_the_invariants_intact(
        system, urls, audit_where, request, tmp_path):
    if system.variant != "choreo":
        pytest.skip("only the choreographed variant has a broker")
    broker = request.getfixturevalue("test_broker")
    placed, statuses = [], []
    names = list(OUTCOMES)
    ledger, scope = new_ledger(tmp_path, "broker-restart")

    def stream():
        with requests.Session() as session:
            for n in range(ORDERS):
                response = post_recorded(session, urls["orders"], ledger, scope, n,
                                         names[n % 4], timeout=30)
                statuses.append(response.status_code)
                if response.status_code == 202:
                    placed.append(response.json()["order_id"])
                time.sleep(0.2)

    producer = threading.Thread(target=stream)
    producer.start()
    time.sleep(2)
    broker.restart()
    producer.join()

    # The order API only writes its database and outbox, so it accepts orders while the
    # broker is down: every POST was a 202.
    assert statuses == [202] * ORDERS
    with requests.Session() as session:
        finals = [wait_final(session, urls["orders"], order_id, timeout=120)
                  for order_id in placed]
    assert {o["status"] for o in finals} == {"COMPLETED", "CANCELLED"}
    results, _ = audit_when_quiet(system.variant, urls, 120, ledger=ledger.path, **audit_where)
    assert report(results), [v for _, _, v in results if v]
    asked = {name: len(range(i, ORDERS, 4)) for i, name in enumerate(names)}
    assert tally(read(ledger.path)[1], snapshot(urls)) == {
        "sent": ORDERS, "accepted": ORDERS, "asked": asked, "ended": endings(asked)}
