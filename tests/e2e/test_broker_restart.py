"""Choreographed: a broker restart in the middle of a stream of orders loses none of them."""
import threading
import time

import pytest
import requests

from audit.__main__ import audit_when_quiet, report
from tests.support import OUTCOMES, wait_final

ORDERS = 50


def test_orders_placed_across_a_broker_restart_all_finish_with_the_invariants_intact(
        system, urls, request):
    if system.variant != "choreo":
        pytest.skip("only the choreographed variant has a broker")
    broker = request.getfixturevalue("test_broker")
    placed, statuses = [], []
    bodies = [body for body, _, _ in OUTCOMES.values()]

    def stream():
        with requests.Session() as session:
            for n in range(ORDERS):
                response = session.post(f"{urls['orders']}/orders", json=bodies[n % 4],
                                        timeout=30)
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
    results = audit_when_quiet(urls, timeout_s=120)
    assert report(results), [v for _, _, v in results if v]
