"""deploy/healthcheck.py, the check every app container runs: it passes only on a 200 from the
URL it is given, and fails when it is given none (a check that cannot fail hides a mistake)."""
import http.server
import os
import socket
import subprocess
import sys
import threading

import pytest

from tests.support import ROOT

SCRIPT = ROOT / "deploy" / "healthcheck.py"


def run_check(url=None):
    env = {k: v for k, v in os.environ.items() if k != "HEALTHCHECK_URL"}
    if url is not None:
        env["HEALTHCHECK_URL"] = url
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True,
                          text=True, timeout=30)


@pytest.fixture
def server():
    """A local HTTP server: /health answers 200, anything else 503."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_it_fails_when_no_url_is_set():
    found = run_check()
    assert found.returncode == 1 and "HEALTHCHECK_URL" in found.stderr


def test_it_passes_on_a_200_and_fails_on_an_error_status(server):
    assert run_check(f"{server}/health").returncode == 0
    assert run_check(f"{server}/other").returncode == 1


def test_it_fails_when_nothing_answers():
    with socket.socket() as probe:  # a port that was free a moment ago, and is closed now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert run_check(f"http://127.0.0.1:{port}/health").returncode == 1
