"""Which failures of POST /sagas the orders service may try on another replica (Trade-off 59).

Only a failure to connect proves the request never arrived; a connection cut after the
request was sent is ambiguous (the replica may be driving the saga), so the call ends there,
like a timeout. Real sockets and the real requests/urllib3 stack against stand-in replicas
that read a request, then answer 201 or reset the connection.
"""
import importlib
import socket
import struct
import sys
import threading
from pathlib import Path

import pytest

ORCH = Path(__file__).resolve().parents[2] / "orders-orch"
ANSWER = (b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
          b"Content-Length: 20\r\n\r\n{\"state\":\"RUNNING\"}\n")
FACTS = {"order_id": "o-1"}


class StandIn:
    """A replica on a real socket: it reads each request whole, then answers 201 (keeping the
    connection open, or closing it once idle), or resets the connection (an RST)."""

    def __init__(self, behaviour):
        self.behaviour, self.requests, self.connections = behaviour, 0, 0
        self.closed = threading.Event()  # set once the server has closed a connection
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # the listener was closed: the test is over
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn):
        while _read_request(conn):
            self.requests += 1
            if self.behaviour == "reset":  # after the request arrived: the answer is lost
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                break
            conn.sendall(ANSWER)
            if self.behaviour == "answer, then close when idle":
                break
        conn.close()
        self.closed.set()


def _read_request(conn):
    """Read one HTTP request (headers, then a Content-Length body); False at end of stream."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += conn.recv(65536)
    return True


def _refusing_url():
    """A local port nobody listens on: connecting to it is refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def client():
    """orders-orch's orchestrator client; its `orders` package is forgotten afterwards, since
    orders-choreo/ has a package of the same name."""
    sys.path.insert(0, str(ORCH))
    try:
        yield importlib.import_module("orders.orchestrator_client")
    finally:
        sys.path.remove(str(ORCH))
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", None) or "").startswith(str(ORCH / "orders")):
                del sys.modules[name]


@pytest.fixture
def stand_in():
    """Start stand-in replicas: stand_in("answer"); their listeners close after the test."""
    started = []
    yield lambda behaviour: started.append(StandIn(behaviour)) or started[-1]
    for replica in started:
        replica.listener.close()


def _replicas(monkeypatch, *urls):
    monkeypatch.setenv("ORCH_REPLICAS", str(len(urls)))
    monkeypatch.setenv("ORCHESTRATOR_URLS", ",".join(urls))


def test_a_replica_that_refuses_the_connection_is_skipped_for_the_next(client, stand_in,
                                                                       monkeypatch):
    alive = stand_in("answer")
    _replicas(monkeypatch, _refusing_url(), alive.url)
    monkeypatch.setattr(client.random, "randrange", lambda n: 0)  # the refusing one first
    answer = client.start_saga(FACTS, "corr-1")
    assert answer is not None and answer.status_code == 201
    assert alive.requests == 1


def test_a_connection_cut_after_the_request_was_sent_is_not_tried_elsewhere(client, stand_in,
                                                                             monkeypatch):
    first, second = stand_in("reset"), stand_in("reset")
    _replicas(monkeypatch, first.url, second.url)
    assert client.start_saga(FACTS, "corr-1") is None  # the loop hands the order over later
    assert first.requests + second.requests == 1, "POST /sagas went to a second replica"


def test_a_pooled_connection_the_server_closed_is_replaced_not_taken_for_a_failure(
        client, stand_in, monkeypatch):
    replica = stand_in("answer, then close when idle")
    _replicas(monkeypatch, replica.url)
    assert client.start_saga(FACTS, "corr-1").status_code == 201  # its connection is pooled
    assert replica.closed.wait(5)  # ... and now closed by the server, idle in the pool
    assert client.start_saga(FACTS, "corr-2").status_code == 201
    assert (replica.requests, replica.connections) == (2, 2)  # a new connection, no error
