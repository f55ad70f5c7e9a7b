"""The floor: what each transport alone allows on this machine, with no saga around it.

- AMQP: one persistent message published with publisher confirms to a durable queue, consumed
  and acknowledged, then the next (one in flight): the hop every choreographed step pays;
- HTTP: one request to a trivial Flask app on gunicorn, with the services' settings (gthread,
  1 worker, 4 threads), then the next: the call every orchestrated step pays.

Each is measured twice: its time (p50, p99, round trips per second), and its CPU: what both
ends used per round trip (the client here, plus the broker or the gunicorn server). The CPU
figure is the one to set beside `make bench`'s CPU-ms per order: it is what a step costs the
machine before any work is done in it. PATHS says how many of each a completed order of each
variant takes, so order_cpu_ms() is a variant's floor per order (the bench divides by it).

    python -m load floor          (what `make bench-floor` runs)
"""
import socket
import statistics
import subprocess
import sys
import time

import pika
import psutil
import requests
from flask import Flask

from load.sampler import listener_pid
from load.variant import ROOT

FLOOR_QUEUE = "load.floor"

# The transports of one COMPLETED order, per variant: (message hops, HTTP round trips), each
# hop one message published and consumed (the AMQP floor's round trip). Counted from the code,
# every step through the customer's notification, in all three alike:
# - choreo: POST /orders, then 6 events each consumed by the next service: order.placed,
#   stock.reserved, payment.captured, shipment.booked, stock.committed, order.completed;
# - orch: POST /orders, POST /sagas (the orders service hands the saga over), and one call per
#   step of orders-orch/orchestrator/saga.py: 6 steps for a completed order;
# - orch-amqp: the same POST /orders and POST /sagas, then each of the 6 steps a command and
#   its reply: 12 hops.
# Issue 25 counted 5 hops + 1 request (choreo), 8 round trips (orch) and 8 commands + 8 replies
# (orch over AMQP): its choreographed path stopped at COMPLETED, before order.completed reaches
# notifications, while its orchestrated ones went through the notify step; and over AMQP the
# saga still has 6 steps, and its first two calls stay HTTP.
# Trade-off 86: the floor counts the messages that carry the saga's steps, nothing else: the
# same rule for all three makes their multiples comparable. The cost: the choreographed
# tracker's copy of every event and notification.sent (bookkeeping the tracker alone hears),
# and the orchestrated saga log's writes, are left out, so they show up in the multiple as work.
PATHS = {"choreo": (6, 1), "orch": (0, 8), "orch-amqp": (12, 2)}


def order_cpu_ms(floor, variant):
    """Return the floor's CPU-ms of one completed order of a variant: its hops x the AMQP round
    trip's cpu_ms + its HTTP round trips x the HTTP one's (None for a floor without CPU)."""
    if variant not in PATHS or not all("cpu_ms" in floor.get(t, {}) for t in ("amqp", "http")):
        return None
    hops, calls = PATHS[variant]
    return hops * floor["amqp"]["cpu_ms"] + calls * floor["http"]["cpu_ms"]


def create_app():
    """Return the trivial app the HTTP floor calls (served by gunicorn)."""
    app = Flask(__name__)
    app.add_url_rule("/ping", "ping", lambda: {"ok": True})
    return app


def amqp_round_trips(amqp_url, count):
    """Return the seconds of `count` persistent publish-confirm-consume-ack round trips, and
    the CPU seconds they cost (this process, the broker)."""
    parameters = pika.URLParameters(amqp_url)
    broker = _processes(listener_pid(parameters.port))
    connection = pika.BlockingConnection(parameters)
    channel = connection.channel()
    channel.queue_declare(FLOOR_QUEUE, durable=True)
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=1)
    inbox = channel.consume(FLOOR_QUEUE, inactivity_timeout=10)
    took, cpu_before = [], _cpu_s(broker)
    for n in range(count):
        started = time.perf_counter()
        channel.basic_publish("", FLOOR_QUEUE, str(n).encode(),
                              pika.BasicProperties(delivery_mode=2), mandatory=True)
        method, _, _ = next(inbox)
        channel.basic_ack(method.delivery_tag)
        took.append(time.perf_counter() - started)
    cpu_after = _cpu_s(broker)
    channel.cancel()
    channel.queue_delete(FLOOR_QUEUE)
    connection.close()
    return took, _spent(cpu_before, cpu_after)


def http_round_trips(count):
    """Return the seconds of `count` sequential GETs to the trivial app on gunicorn, and the
    CPU seconds they cost (this process, the gunicorn server: its master and worker)."""
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
            gunicorn = _processes(server.pid)
            took, cpu_before = [], _cpu_s(gunicorn)
            for _ in range(count):
                started = time.perf_counter()
                http.get(f"http://127.0.0.1:{port}/ping", timeout=5).raise_for_status()
                took.append(time.perf_counter() - started)
            return took, _spent(cpu_before, _cpu_s(gunicorn))
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


def _processes(pid):
    """Return the process `pid` and its children (a gunicorn master and its workers)."""
    if pid is None:
        raise RuntimeError("the floor found no process listening on the broker's port")
    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def _cpu_s(far_end):
    """Return this process's CPU seconds, user and system, used so far, and the far end's, by
    pid, of those of its processes still running."""
    seconds = {}
    for process in far_end:
        try:
            seconds[process.pid] = sum(process.cpu_times()[:2])
        except psutil.NoSuchProcess:  # the broker's helpers (inet_gethost) come and go
            continue
    return time.process_time(), seconds


def _spent(before, after):
    """Return [this process's, the far end's] CPU seconds between two _cpu_s() readings; the
    far end counts the processes it had at both."""
    far_end = sum(after[1][pid] - before[1][pid] for pid in after[1] if pid in before[1])
    return [after[0] - before[0], far_end]


def describe(took, cpu_s):
    """Return {p50_ms, p99_ms, per_s, count, client_cpu_ms, cpu_ms} of round-trip seconds and
    the CPU seconds (client, far end) they cost: cpu_ms counts both ends."""
    ms = sorted(t * 1000 for t in took)
    client, far_end = (seconds * 1000 / len(took) for seconds in cpu_s)
    return {"p50_ms": statistics.median(ms), "p99_ms": ms[int(0.99 * (len(ms) - 1))],
            "per_s": len(took) / sum(took), "count": len(took),
            "client_cpu_ms": client, "cpu_ms": client + far_end}


ROUND_TRIPS = 300  # of each transport: enough for a stable median on this machine


def measure(amqp_url, count=ROUND_TRIPS):
    """Return the floor of both transports: {"amqp": {...}, "http": {...}}."""
    return {"amqp": describe(*amqp_round_trips(amqp_url, count)),
            "http": describe(*http_round_trips(count))}


def median(floors):
    """Return one floor from several (each what measure() returns): every figure of each
    transport the median of theirs. None when there is none."""
    floors = [f for f in floors if f]
    if not floors:
        return None
    return {transport: {figure: statistics.median(f[transport][figure] for f in floors)
                        for figure in floors[0][transport]}
            for transport in floors[0]}
