"""Browser fixtures: RabbitMQ, both variants through the runner, the page, and a real Chromium.

Everything runs on ports of its own (every port moved by PORT_OFFSET, the broker on 5679), so
these tests run beside the other test folders' variants and beside a `make up-both`.
Chromium is Debian's (`make chromium` installs it), driven by Playwright; Playwright's own
browser download is never used.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests
from playwright.sync_api import sync_playwright

from runner.broker import Broker
from tests.support import ROOT, RunningVariant, moved_ports

PORT_OFFSET = 16000  # 24001-24080: below the ephemeral ports (32768 and up) a client may hold
AMQP_URL = "amqp://guest:guest@127.0.0.1:5679/%2F"
VAR_DIR = ROOT / "var" / "test-browser"
WATCH_PORT = 8080 + PORT_OFFSET
SHOTS = ROOT / "reports" / "browser"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-quic",
                  "--disable-sync"]


@pytest.fixture(scope="session")
def variants(stop_later):
    """Start a broker, then both variants at once through the runner; stop them and the broker
    at the end, all at once and in the background (tests/conftest.py)."""
    broker = Broker(AMQP_URL, VAR_DIR / "broker")
    if not broker.answers():
        shutil.rmtree(broker.base, ignore_errors=True)  # no queue left over from an earlier run
        broker.start()
    running = {}
    for variant in ("choreo", "orch"):
        env = moved_ports(variant, PORT_OFFSET)
        env["AMQP_URL"] = AMQP_URL
        running[variant] = RunningVariant(variant, VAR_DIR, env)
    starts = [threading.Thread(target=r.start) for r in running.values()]
    try:
        for thread in starts:
            thread.start()
        for thread in starts:
            thread.join()
        for variant, r in running.items():
            assert r.process and r.process.poll() is None, f"the {variant} runner did not start"
        yield running
    finally:
        for r in running.values():
            stop_later(r.stop)
        stop_later(broker.stop)


@pytest.fixture(scope="session")
def page_url(variants):
    """Start the page's server (`python -m watch`) pointed at both variants; return its URL."""
    env = dict(os.environ, VAR_DIR=str(VAR_DIR), AMQP_URL=AMQP_URL, WATCH_PORT=str(WATCH_PORT),
               WATCH_CHOREO_URL=variants["choreo"].url("orders"),
               WATCH_ORCH_URL=variants["orch"].url("orders"),
               WATCH_ORCHESTRATOR_URL=variants["orch"].url("orchestrator"))
    server = subprocess.Popen([sys.executable, "-m", "watch"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{WATCH_PORT}"
    try:
        _wait_answers(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_answers(url, server, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{url}/api/holding", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert server.poll() is None, "the page's server exited"
        assert time.monotonic() < deadline, "the page's server did not answer"
        time.sleep(0.3)


@pytest.fixture(scope="session")
def browser_context():
    """A headless Debian Chromium with a fresh profile, driven by Playwright."""
    with tempfile.TemporaryDirectory(prefix="watch-chromium-") as profile, \
            sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000})
        yield context
        context.close()


@pytest.fixture(scope="session")
def page(browser_context, page_url):
    """The page, open in the browser, its scripts loaded; console errors fail the tests."""
    tab = browser_context.new_page()
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(page_url)
    tab.wait_for_selector("#outcome option", state="attached")
    yield tab
    assert not errors, f"the page's scripts failed: {errors}"


@pytest.fixture(scope="session")
def shots():
    """The folder the screenshots go to (git-ignored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
