"""Every run of the harness (`make bench`, `make demo`) starts its variant on empty databases,
on PostgreSQL too: the cluster under var/postgres outlives a run, where the SQLite files of
var/<variant> are deleted before it. An order left by an earlier run would be counted as the
new run's, and one left PENDING would keep the bench's drain waiting for it until its timeout.
"""
import pytest
import requests

from load.variant import Variant
from tests.support import order, throwaway_postgres

PORT_OFFSET = 17000
POSTGRES_PORT = "15441"


def orders_listed(variant):
    with requests.Session() as http:
        answer = http.get(f"{variant.url('orders')}/orders?limit=50", timeout=30)
        answer.raise_for_status()
        return answer.json()["items"]


@pytest.mark.timeout(240)
def test_a_harness_run_on_postgres_does_not_inherit_the_orders_of_the_run_before(
        tmp_path, monkeypatch):
    monkeypatch.setenv("POSTGRES_PORT", POSTGRES_PORT)
    with throwaway_postgres(int(POSTGRES_PORT), "test-fresh-start-postgres"):
        earlier = Variant("orch", tmp_path, tmp_path / "earlier.log", PORT_OFFSET, db="postgres")
        earlier.start()
        try:
            with requests.Session() as http:
                placed = http.post(f"{earlier.url('orders')}/orders", json=order(), timeout=60)
            assert placed.status_code in (201, 202), placed.text
            assert orders_listed(earlier)  # the order is in the cluster, which stays up
        finally:
            earlier.stop()

        later = Variant("orch", tmp_path, tmp_path / "later.log", PORT_OFFSET, db="postgres")
        later.start()
        try:
            assert orders_listed(later) == []
        finally:
            later.stop()
