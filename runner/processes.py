"""The process table of each variant, as data: what runs, with which command, on which port.

Every HTTP service runs on gunicorn; every choreographed service also has a worker process
(its consumers and outbox relay). `replicas` multiplies the workers (choreographed) or the
orchestrator (orchestrated).

One setting, CONCURRENCY (shared/runtime/config.py, 16 by default), is how many units of work each
service (inventory, payments, shipping, notifications, and the orders service's saga work)
handles at once, in both variants, so that a load test compares coordination styles and not
thread counts:
- orchestrated: each of those services' API is one gunicorn worker with CONCURRENCY request
  threads, 16 calls in progress at once;
- choreographed: each service queue has CONCURRENCY competing consumers in the service's
  worker (a thread and a connection each, applying one batch of up to PREFETCH_COUNT messages
  at a time), 16 batches in progress at once; every worker reads the setting itself (here
  and in docker-compose.yml alike). The orders worker's tracker, bookkeeping that no order
  waits for, runs 2 (orders-choreo/orders/subscriptions.py).
Outside the setting, and why: the orders API of each variant, sized for the customers whose
every request it takes (the orchestrated one also takes the orchestrator's outcome commands,
the orders service's saga work there, on the same threads); the orchestrator (a request
thread per saga ORCH_MAX_IN_FLIGHT admits, and 16 more: orchestrator_threads()), the
coordinator, whose drives mostly wait on the services and are bounded by
ORCH_MAX_IN_FLIGHT, a part nothing in the choreographed variant plays; and the choreographed
services' APIs, which do no saga work (reads and health; the work is the worker's).
"""
import sys
from dataclasses import dataclass, field

from shared.runtime import config


@dataclass(frozen=True)
class Program:
    name: str
    command: list
    port: int | None = None          # HTTP port whose /health must answer 200
    numprocs: int = 1
    environment: dict = field(default_factory=dict)

    def option(self, name, default=None):
        """Return the value after `name` on the command line (e.g. "--threads"), else default."""
        return self.command[self.command.index(name) + 1] if name in self.command else default


def gunicorn(app, port, workers=1, threads=4):
    """Return the gunicorn command line serving a Flask app factory on 127.0.0.1:port."""
    return [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
            # Idle connections stay open longer than any client waits between requests, so a
            # client never reuses a connection the server is just closing (gunicorn's default: 2 s).
            "--graceful-timeout", "2", "--keep-alive", "75", "--timeout", "30",
            "--no-control-socket", app]


ORDERS_API_REQUEST_THREADS = 32  # per worker, for the requests that do not wait


ORCHESTRATOR_REQUEST_THREADS = 16  # per replica, for the requests that do not wait: reads,
# health, forwards to a shard's owner, and the one past the in-flight bound that is shed


def orchestrator_threads():
    """Return an orchestrator replica's request threads: one per saga its in-flight bound
    admits (ORCH_MAX_IN_FLIGHT), whose POST /sagas may wait out the budget in it, and
    ORCHESTRATOR_REQUEST_THREADS more. docker-compose.yml repeats it with the defaults."""
    # Trade-off 117: with fewer threads than the bound (48 against 64, before), the waiting
    # requests took every thread first: the next POST /sagas queued in gunicorn, unseen by the
    # bound and before the budget's clock starts, so a throttled replica shed nothing and the
    # orders API gave up after ORCH_SYNC_BUDGET_MS + 2 s (202, and a warning). Sized past the
    # bound, the replica reaches its bound while a thread is still free, and sheds at once
    # with 429 (C9). The price: 80 threads per replica, mostly waiting, where 48 served.
    return ORCHESTRATOR_REQUEST_THREADS + config.orch_max_in_flight()


def orders_api_size():
    """Return (workers, threads) of the public orders API, the same in both variants: 2 workers,
    each with threads for its requests plus one per waiting request it allows (ORDER_WAIT_SLOTS,
    Trade-off 69 in shared/http/order_waits.py). docker-compose.yml repeats it with the defaults."""
    return 2, ORDERS_API_REQUEST_THREADS + config.order_wait_slots()


def choreo(replicas=1):
    """Return the choreographed variant's programs: an API and a worker per service."""
    programs = []
    for service in config.SERVICES:
        port = config.port(service, "choreo")
        workers, threads = orders_api_size() if service == "orders" else (1, 4)
        programs.append(Program(f"{service}-api", gunicorn(f"{service}.api:create_app()", port,
                                                           workers=workers, threads=threads),
                                port=port))
        programs.append(Program(f"{service}-worker", [sys.executable, "-m", f"{service}.worker"],
                                numprocs=replicas,
                                environment={"WORKER_REPLICA": "%(process_num)d"}))
    return programs


def orch(replicas=1):
    """Return the orchestrated variant's programs: an API per service, one per orchestrator replica.

    Each orchestrator replica is ONE gunicorn worker with many threads, so its background
    loops (leases, recovery, archival) run once per replica; the orders API runs its handover
    loop in each of its workers, which is harmless (POST /sagas is idempotent per order).
    """
    env = {"ORCH_REPLICAS": str(replicas)}
    programs = []
    for service in config.SERVICES:
        port = config.port(service, "orch")
        workers, threads = orders_api_size() if service == "orders" else (1, config.concurrency())
        programs.append(Program(f"{service}-api", gunicorn(f"{service}.api:create_app()", port,
                                                           workers=workers, threads=threads),
                                port=port, environment=env))
    for replica in range(replicas):
        port = config.orchestrator_port(replica)
        programs.append(Program(f"orchestrator-{replica}",
                                gunicorn("orchestrator.api:create_app()", port,
                                         threads=orchestrator_threads()),
                                port=port, environment={**env, "ORCH_REPLICA": str(replica)}))
    return programs


VARIANTS = {"choreo": choreo, "orch": orch}


def programs(variant, replicas=1):
    """Return the programs of a variant."""
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return VARIANTS[variant](replicas)
