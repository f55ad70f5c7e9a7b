"""The floor: what each transport alone allows on this machine, with no saga around it.

- AMQP: one persistent message published with publisher confirms to a durable queue, consumed
  and acknowledged, then the next (one in flight): the hop every choreographed step pays;
- HTTP: one request to a trivial Flask app on gunicorn, with the services' settings (gthread,
  1 worker, 4 threads), then the next: the call every orchestrated step pays.

    python -m load floor          (what `make bench-floor` runs)
"""
import socket
import statistics
import subprocess
import sys
import time

import pika
import requests
from flask import Flask

from load.variant import ROOT

FLOOR_QUEUE = "load.floor"


def create_app():
    """Return the trivial app the HTTP floor calls (served by gunicorn)."""
    app = Flask(__name__)
    app.add_url_rule("/ping", "ping", lambda: {"ok": True})
    return app


def amqp_round_trips(amqp_url, count):
    """Return the seconds of `count` persistent publish-confirm-consume-ack round trips."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.queue_declare(FLOOR_QUEUE, durable=True)
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=1)
    inbox = channel.consume(FLOOR_QUEUE, inactivity_timeout=10)
    took = []
    for n in range(count):
        started = time.perf_counter()
        channel.basic_publish("", FLOOR_QUEUE, str(n).encode(),
                              pika.BasicProperties(delivery_mode=2), mandatory=True)
        method, _, _ = next(inbox)
        channel.basic_ack(method.delivery_tag)
        took.append(time.perf_counter() - started)
    channel.cancel()
    channel.queue_delete(FLOOR_QUEUE)
    connection.close()
    return took


def http_round_trips(count):
    """Return the seconds of `count` sequential GETs to the trivial app on gunicorn."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "4", "--worker-class", "gthread", "load.floor:create_app()"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with requests.Session() as http:
            _wait_answers(http, f"http://127.0.0.1:{port}/ping")
            took = []
            for _ in range(count):
                started = time.perf_counter()
                http.get(f"http://127.0.0.1:{port}/ping", timeout=5).raise_for_status()
                took.append(time.perf_counter() - started)
            return took
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_answers(http, url, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return http.get(url, timeout=1)
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def describe(took):
    """Return {p50_ms, p99_ms, per_s} of a list of round-trip seconds."""
    ms = sorted(t * 1000 for t in took)
    return {"p50_ms": statistics.median(ms), "p99_ms": ms[int(0.99 * (len(ms) - 1))],
            "per_s": len(took) / sum(took), "count": len(took)}


def measure(amqp_url, count=300):
    """Return the floor of both transports: {"amqp": {...}, "http": {...}}."""
    return {"amqp": describe(amqp_round_trips(amqp_url, count)),
            "http": describe(http_round_trips(count))}
