"""Sample, once a second during a run, CPU and memory per process and the system's backlog.

- CPU seconds and RSS of every program of the runner's supervisord (with its children, e.g.
  gunicorn's workers), of the broker's beam.smp and of Locust;
- for a variant on RabbitMQ, the depth of every queue its work waits in (load/variant.py
  queues(): the choreographed events', or the orchestrated commands' and replies');
- for both, how many orders are PENDING (the inspection API of the orders service).

CPU is counted per pid from the first sample on (or from its start, for a process born during
the run), so neither a program's start-up nor the broker's earlier runs count against this
run's orders, and a program stopped in the middle of a run keeps what it used.
"""
import threading
import time

import psutil
import requests

from ops.queues import QUEUES, QueueWatch


def program_service(program):
    """Return the service a program belongs to: `payments-worker-1` -> `payments`."""
    if program.startswith("orchestrator"):
        return "orchestrator"
    return program.split("-")[0]


def listener_pid(port):
    """Return the pid listening on TCP `port` (the broker's beam.smp for its AMQP port), or None."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return conn.pid
    return None


class Sampler:
    """A thread that samples a running variant until stop() is called."""

    def __init__(self, variant, amqp_url=None, extra_pids=None, every=1.0, queues=QUEUES):
        self.variant, self.every = variant, every
        self.extra_pids = dict(extra_pids or {})       # name -> pid (broker, locust)
        self.queues = QueueWatch(amqp_url, queues) if amqp_url else None
        self.cpu_rows, self.depth_rows, self.pending_rows = [], [], []
        self._seen = {}                                # pid -> (who, cpu seconds in this run)
        self._before = None                            # pid -> cpu seconds at the first sample
        self._stop, self._thread, self.started = threading.Event(), None, None
        self.started_wall = None                       # time.time() at the start (Locust's clock)

    def start(self):
        """Start sampling in a thread."""
        self.started, self.started_wall = time.monotonic(), time.time()
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)
        self._thread.start()

    def stop(self):
        """Stop sampling and wait for the last sample."""
        self._stop.set()
        self._thread.join(timeout=10)
        if self.queues:
            self.queues.close()

    def now(self):
        """Return the seconds since sampling started."""
        return time.monotonic() - self.started

    def cpu_seconds(self):
        """Return {who: CPU seconds used since the start} (who: a program, broker or locust)."""
        totals = {}
        for who, seconds in self._seen.values():
            totals[who] = totals.get(who, 0.0) + seconds
        return totals

    def _loop(self):
        with requests.Session() as http:
            while not self._stop.is_set():
                t = round(self.now(), 1)
                self._sample_processes(t)
                self._sample_backlog(t, http)
                self._stop.wait(self.every)

    def _sample_processes(self, t):
        pids = dict(self.extra_pids)
        try:
            pids.update(self.variant.programs())
        except OSError:
            pass
        first, self._before = self._before is None, self._before or {}
        for who, pid in pids.items():
            rss = 0
            for proc in _with_children(pid):
                try:
                    times = proc.cpu_times()
                    rss += proc.memory_info().rss
                except psutil.Error:
                    continue
                used = times.user + times.system
                if first:  # what it used before the run started is not the run's
                    self._before[proc.pid] = used
                self._seen[proc.pid] = (who, used - self._before.get(proc.pid, 0.0))
            self.cpu_rows.append((t, who, round(self.cpu_seconds().get(who, 0.0), 3),
                                  round(rss / 2**20, 1)))

    def _sample_backlog(self, t, http):
        if self.queues:
            for queue, depth in self.queues.depths().items():
                self.depth_rows.append((t, queue, depth))
        try:
            answer = http.get(f"{self.variant.url('orders')}/orders?status=PENDING&limit=1000",
                              timeout=5)
            self.pending_rows.append((t, len(answer.json()["items"])))
        except (requests.RequestException, ValueError, KeyError):
            self.pending_rows.append((t, None))


def _with_children(pid):
    try:
        proc = psutil.Process(pid)
        return [proc] + proc.children(recursive=True)
    except psutil.Error:
        return []
