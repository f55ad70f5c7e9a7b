"""The runner's health probe (runner/health.py) leaves no connection open in the programs it
probes: one left idle would hold a gunicorn worker at stop for its whole graceful timeout,
past supervisord's stop limit (SIGKILL). A real HTTP server, keep-alive like gunicorn."""
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from runner.health import wait_healthy


class Healthy(BaseHTTPRequestHandler):
    """Answers 200 on a kept-alive connection, and counts the connections still open."""
    protocol_version = "HTTP/1.1"
    open_connections = 0

    def setup(self):
        super().setup()
        type(self).open_connections += 1

    def finish(self):
        super().finish()
        type(self).open_connections -= 1

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_):
        pass


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve_after(port, delay_s, servers):
    time.sleep(delay_s)  # the first probes find nothing listening, as while a program starts
    servers.append(ThreadingHTTPServer(("127.0.0.1", port), Healthy))
    servers[-1].serve_forever()


def test_once_healthy_the_probe_keeps_no_connection_open_to_the_program():
    port, servers = _free_port(), []
    threading.Thread(target=_serve_after, args=(port, 0.5, servers), daemon=True).start()
    wait_healthy([f"http://127.0.0.1:{port}"], timeout=10)
    deadline = time.monotonic() + 2
    while Healthy.open_connections and time.monotonic() < deadline:
        time.sleep(0.05)
    servers[0].shutdown()
    assert Healthy.open_connections == 0, "an idle connection left open in the program"
