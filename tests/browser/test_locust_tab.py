"""Locust's web UI in a real browser against the running choreographed variant, as `make
load-choreo` starts it: Start refused when the host does not answer, then a short run, STOP,
and the Sagas tab with the orders by outcome and the audit's verdict (its screenshot is the
README's)."""
import os
import re
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.browser.conftest import AMQP_URL, PORT_OFFSET, VAR_DIR
from tests.support import ROOT, wait_for

LOCUST_PORT = 8089 + PORT_OFFSET
ENDINGS = ("completed", "cancelled/out_of_stock", "cancelled/payment_declined",
           "cancelled/shipping_unavailable")


@pytest.fixture(scope="module")
def locust_url(variants, tmp_path_factory):
    """Locust's web UI with the shapes to pick, against the browser tests' choreo variant."""
    folder = tmp_path_factory.mktemp("locust-ui")
    env = dict(os.environ, AMQP_URL=AMQP_URL, VAR_DIR=str(VAR_DIR), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "locust", "-f", "load/locustfile.py,load/shapes.py",
               "--class-picker", "--web-host", "127.0.0.1", "--web-port", str(LOCUST_PORT),
               "--host", variants["choreo"].url("orders"), "--variant", "choreo",
               "--ledger", "auto", "--stop-wait", "10",
               "--mix", "completed=1,out_of_stock=1,payment_declined=1,shipping_unavailable=1"]
    with open(folder / "locust.log", "w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{LOCUST_PORT}"
    try:
        wait_for(lambda: _answers(url, server), timeout=30, message="Locust's web UI")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url, server):
    assert server.poll() is None, "Locust exited"
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def locust_page(browser_context, locust_url):
    tab = browser_context.new_page()
    tab.goto(locust_url)
    tab.get_by_label(re.compile("Number of users")).wait_for()
    yield tab
    tab.close()


def test_start_against_a_host_where_nothing_listens_is_refused_with_the_fix_and_the_ui_stays_up(
        locust_page, locust_url):
    dead = f"http://127.0.0.1:{_closed_port()}"
    locust_page.get_by_label(re.compile("^Host")).fill(dead)
    locust_page.get_by_role("button", name=re.compile("^start", re.I)).click()
    said = f"{dead}/health does not answer (connection refused); start the variant: make up-choreo"
    locust_page.get_by_text(said).wait_for(timeout=10_000)
    assert requests.get(f"{locust_url}/stats/requests", timeout=5).json()["state"] == "ready"


def test_a_short_run_shows_the_orders_by_outcome_and_the_audit_on_the_sagas_tab(
        locust_page, locust_url, variants, shots):
    locust_page.get_by_label(re.compile("Number of users")).fill("4")
    locust_page.get_by_label(re.compile("Ramp up")).fill("4")
    locust_page.get_by_label(re.compile("^Host")).fill(variants["choreo"].url("orders"))
    locust_page.get_by_role("button", name=re.compile("^start", re.I)).click()
    wait_for(lambda: all(_row(locust_url, what) >= 2 for what in ENDINGS), timeout=60,
             message="two orders of each outcome")
    locust_page.get_by_role("button", name=re.compile("^stop", re.I)).click()
    audit = wait_for(lambda: _note(locust_url, "audit"), timeout=90, message="the audit's verdict")
    assert audit.startswith("passed"), audit
    assert _row(locust_url, "in flight") == 0
    locust_page.reload()  # the UI stops asking for the stats once stopped; the audit came after
    locust_page.get_by_role("tab", name="Sagas").click()
    locust_page.get_by_text("cancelled/payment_declined").wait_for(timeout=10_000)
    locust_page.get_by_text(re.compile("^passed")).wait_for(timeout=10_000)
    locust_page.screenshot(path=shots / "locust-sagas.png", full_page=True)
    csv_text = requests.get(f"{locust_url}/sagas/csv", timeout=5).text
    assert csv_text.startswith("what,count,p50,p95,p99,note") and "\naudit," in csv_text


def _rows(url):
    return {r["what"]: r for r in requests.get(f"{url}/stats/requests", timeout=5)
            .json()["extended_stats"][0]["data"]}


def _row(url, what):
    return int(_rows(url).get(what, {}).get("count") or 0)


def _note(url, what):
    return _rows(url).get(what, {}).get("note")
