"""The process table of each variant, as data: what runs, with which command, on which port.

Every HTTP service runs on gunicorn; every choreographed service also has a worker process
(its consumers and outbox relay). `replicas` multiplies the workers (choreographed) or the
orchestrator (orchestrated).

The concurrency budget per service, the same in both variants so that a load test compares
coordination styles and not thread counts: 16 units of work in progress at once.
- orchestrated: each service's API is one gunicorn worker with 16 threads (the orders API,
  which also takes every customer request, 2 workers of 32; the orchestrator 48 threads);
- choreographed: per queue, CONSUMER_THREADS consumers (a thread and a connection each)
  with PREFETCH_COUNT unacked messages each: 2 x 8 = 16, the defaults of shared/config.py,
  which every worker reads (here and in docker-compose.yml alike), plus a small API.
"""
import sys
from dataclasses import dataclass, field

from shared import config


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


def orders_api_size():
    """Return (workers, threads) of the public orders API, the same in both variants: 2 workers,
    each with threads for its requests plus one per waiting request it allows (ORDER_WAIT_SLOTS,
    Trade-off 69 in shared/order_waits.py). docker-compose.yml repeats it with the defaults."""
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
        workers, threads = orders_api_size() if service == "orders" else (1, 16)
        programs.append(Program(f"{service}-api", gunicorn(f"{service}.api:create_app()", port,
                                                           workers=workers, threads=threads),
                                port=port, environment=env))
    for replica in range(replicas):
        port = config.orchestrator_port(replica)
        programs.append(Program(f"orchestrator-{replica}",
                                gunicorn("orchestrator.api:create_app()", port, threads=48),
                                port=port, environment={**env, "ORCH_REPLICA": str(replica)}))
    return programs


VARIANTS = {"choreo": choreo, "orch": orch}


def programs(variant, replicas=1):
    """Return the programs of a variant."""
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return VARIANTS[variant](replicas)
