"""What each style is holding right now: the numbers that show where a stalled saga waits.

- Choreography holds messages: every queue's depth and consumers, read from the broker.
  Queue names come from `rabbitmqctl list_queues` (no list of them exists anywhere else: each
  service declares its own queue), refreshed now and then because rabbitmqctl is slow to
  start; the depths come from a passive queue_declare over AMQP, which is cheap.
- Orchestration holds sagas (and a request per saga still inside its time budget): how many
  run, how many wait for the recovery loop after a failed step, read from the orchestrator.
  Started with ORCH_TRANSPORT=amqp (its /health says which), it also holds messages: its
  command and reply queues, on the same broker, shown in its column and not in choreo's.
- Both hold orders: how many are PENDING, from the public API.
- Both run programs under the runner's supervisord: each one's state (RUNNING, STOPPED).
"""
import subprocess
import time

import pika
import requests

from runner.broker import Broker
from runner.supervisor import rpc
from shared.runtime import config

NAMES_EVERY_S = 15
COMMANDS, REPLIES = "commands", "replies"  # a part of those queues' names
MAX_PAGES = 5          # count up to 5 pages of 1000 items; more shows as "5000+"


class QueueDepths:
    """Reads the depth and consumer count of every queue of the choreographed variant's broker."""

    def __init__(self, amqp_url):
        self.amqp_url = amqp_url
        self.broker = Broker(amqp_url, config.var_dir() / "rabbitmq")
        self.names, self.names_at = [], 0.0

    def read(self):
        """Return [{"queue", "ready", "consumers"}]; raise OSError/AMQPError when unreachable."""
        if not self.names or time.monotonic() - self.names_at > NAMES_EVERY_S:
            self.names, self.names_at = self._names(), time.monotonic()
        depths = []
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        try:
            for name in self.names:
                channel = connection.channel()  # a passive declare of a missing queue closes it
                try:
                    ok = channel.queue_declare(name, passive=True).method
                    depths.append({"queue": name, "ready": ok.message_count,
                                   "consumers": ok.consumer_count})
                except pika.exceptions.ChannelClosedByBroker:
                    self.names_at = 0.0  # gone (a reset): list the names again next time
        finally:
            connection.close()
        return depths

    def _names(self):
        listed = subprocess.run(["rabbitmqctl", "-n", self.broker.node, "-q", "list_queues",
                                 "--no-table-headers", "name"], env=self.broker.env(),
                                capture_output=True, text=True, timeout=30)
        return sorted(line.strip() for line in listed.stdout.splitlines() if line.strip())


def count(http, url, params):
    """Return how many items a paginated list has (following `next`), or None when unreachable."""
    total, pages = 0, 0
    base = url.split("/", 3)[:3]
    try:
        while url and pages < MAX_PAGES:
            page = http.get(url, params=params, timeout=2).json()
            total, pages, params = total + len(page["items"]), pages + 1, None
            url = "/".join(base) + page["next"] if page.get("next") else None
    except (requests.RequestException, ValueError, KeyError):
        return None
    return total


def programs(variant):
    """Return {program: state} of a variant's supervisord, or {} when the variant is not running."""
    try:
        infos = rpc(config.var_dir() / variant).supervisor.getAllProcessInfo()
    except OSError:
        return {}
    return {info["name"]: info["statename"] for info in infos}


def is_command_queue(name):
    """Return True for the orchestrated variant's command and reply queues (and their retry
    queues): `<service>.commands`, `orchestrator-<n>.replies` (orders-orch/commands/amqp.py)."""
    return any(part in (COMMANDS, REPLIES) for part in name.split("."))


def queues_of(depths, keep):
    """Return the depths of the broker's queues whose name `keep` accepts (None: unreachable)."""
    try:
        return [q for q in depths.read() if keep(q["queue"])]
    except (OSError, pika.exceptions.AMQPError):
        return None


def transport(http):
    """Return the orchestrator's transport, `http` or `amqp`, as its /health says (None when
    it does not answer)."""
    try:
        return http.get(f"{config.watch_orchestrator_url()}/health", timeout=2).json().get(
            "transport")
    except (requests.RequestException, ValueError, AttributeError):
        return None


def choreo(http, depths):
    """Return what the choreographed variant holds."""
    queues = queues_of(depths, lambda name: not is_command_queue(name))
    pending = count(http, f"{config.watch_orders_url('choreo')}/orders",
                    {"status": "PENDING", "limit": 1000})
    return {"programs": programs("choreo"), "pending": pending, "queues": queues}


def orch(http, depths):
    """Return what the orchestrated variant holds (over AMQP, its queues too)."""
    sagas, how = f"{config.watch_orchestrator_url()}/sagas", transport(http)
    queues = queues_of(depths, is_command_queue) if how == "amqp" else []
    return {"programs": programs("orch"), "transport": how, "queues": queues,
            "pending": count(http, f"{config.watch_orders_url('orch')}/orders",
                             {"status": "PENDING", "limit": 1000}),
            "running": count(http, sagas, {"state": "running", "limit": 1000}),
            "waiting": count(http, sagas, {"state": "stuck", "limit": 1000})}
