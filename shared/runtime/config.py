"""Configuration from environment variables, each read by a function with a localhost default.

Nothing is read at import time, so tests and the runner can set variables before a
service starts. Every name below is documented in the README's configuration table.
"""
import os
from pathlib import Path

SERVICES = ("orders", "inventory", "payments", "shipping", "notifications")

# The ports of docs/domain.md: public order API, then the four other services, then the orchestrator.
DEFAULT_PORTS = {
    "choreo": {"orders": 8001, "inventory": 8011, "payments": 8012, "shipping": 8013,
               "notifications": 8014},
    "orch": {"orders": 8002, "inventory": 8021, "payments": 8022, "shipping": 8023,
             "notifications": 8024, "orchestrator": 8020},
}


def _env(name, default):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def repo_root():
    """Return the checkout's top folder (the parent of `shared/`)."""
    return Path(__file__).resolve().parents[2]


def variant():
    """Return `choreo` or `orch`: which of the two variants this process belongs to."""
    return _env("VARIANT", "choreo")


def var_dir():
    """Return the folder for databases, logs and broker data (git-ignored)."""
    return Path(_env("VAR_DIR", str(repo_root() / "var")))


def port(service, of_variant=None):
    """Return the HTTP port of a service, e.g. PAYMENTS_PORT, else the docs/domain.md default."""
    default = DEFAULT_PORTS[of_variant or variant()][service]
    return int(_env(f"{service.upper()}_PORT", default))


def service_url(service, of_variant=None):
    """Return the base URL of a service, e.g. PAYMENTS_URL (http://payments-api:8022 in
    containers), else this machine's address at the service's port."""
    return _env(f"{service.upper()}_URL", f"http://127.0.0.1:{port(service, of_variant)}")


def database_url(service):
    """Return the service's own database URL, e.g. PAYMENTS_DATABASE_URL; SQLite under var/."""
    default = f"sqlite:///{var_dir() / variant() / (service + '.db')}"
    return _env(f"{service.upper()}_DATABASE_URL", default)


def service_token():
    """Return the service credential every internal command needs (SERVICE_TOKEN); empty when
    unset, and then this service refuses every internal command
    (orders-orch/commands/internal.py)."""
    return _env("SERVICE_TOKEN", "")


def amqp_url():
    """Return the RabbitMQ URL, or the URLs of a cluster's nodes separated by commas
    (AMQP_URL); shared/messaging/connection.py connects to any live one of them."""
    return _env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def amqp_urls(of_amqp_url=None):
    """Return the list of node URLs in an AMQP URL setting (AMQP_URL by default)."""
    return [url.strip() for url in (of_amqp_url or amqp_url()).split(",") if url.strip()]


QUEUE_TYPES = ("classic", "quorum")


def queue_type():
    """Return the type of every durable queue the topology declares (QUEUE_TYPE): `classic` on
    one node, `quorum` on a cluster (replicated by Raft; shared/messaging/topology.py says
    what changes). Every program that declares a queue must read the same value."""
    kind = _env("QUEUE_TYPE", "classic")
    if kind not in QUEUE_TYPES:
        raise ValueError(f"QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}, not {kind!r}")
    return kind


def delivery_limit():
    """Return how often a quorum queue hands out one message before the broker dead-letters it
    (QUEUE_DELIVERY_LIMIT): the guard against a message that crashes its consumer every time."""
    return int(_env("QUEUE_DELIVERY_LIMIT", 50))


# The management API listens on the AMQP port + 10000: 5672 -> 15672, RabbitMQ's own pair.
MANAGEMENT_PORT_OFFSET = 10000


def management_queues_url(of_amqp_url=None):
    """Return the RabbitMQ management API's URL of one vhost's queues, credentials included
    (http://user:pass@host:port/api/queues/<vhost>): RABBITMQ_MANAGEMENT_URL when set, else
    derived from an AMQP URL (AMQP_URL by default)."""
    explicit = _env("RABBITMQ_MANAGEMENT_URL", None)
    if explicit:
        return explicit
    # Split by hand: an HTTP client library (urllib) stays out of the choreographed services.
    first_node = amqp_urls(of_amqp_url)[0]  # a cluster's nodes share their queues
    auth, _, location = first_node.split("://", 1)[-1].rpartition("@")
    host_port, _, vhost = location.partition("/")
    host, _, port = host_port.partition(":")
    management_port = int(port or 5672) + MANAGEMENT_PORT_OFFSET
    return (f"http://{auth or 'guest:guest'}@{host or '127.0.0.1'}:{management_port}"
            f"/api/queues/{vhost or '%2F'}")


def broker_stats_interval_ms():
    """Return how often the broker samples its queues' counts for the management API
    (BROKER_STATS_INTERVAL_MS, RabbitMQ's collect_statistics_interval; its default 5000). The
    native broker is started with it and the audit waits one such interval before it trusts an
    unacked count of zero (audit/quiet.py), so both must read the same value."""
    return max(100, int(_env("BROKER_STATS_INTERVAL_MS", 5000)))


def prefetch_count():
    """Return how many unacknowledged messages a consumer may hold (see shared/messaging);
    it is also the largest batch a consumer applies in one transaction."""
    # Still 8 with CONCURRENCY consumers per queue (16 x 8 = 128 unacked per queue and
    # process): the consumers now give the concurrency, and the window is each one's batch. A
    # smaller one would shrink the batches that share a commit and an ack (Trade-off 18) and
    # leave a consumer idle while its ack travels; the 128 only cost redeliveries when a worker
    # dies, which the recorded message ids absorb.
    return int(_env("PREFETCH_COUNT", 8))


def max_attempts():
    """Return how often a message is tried before it is dead-lettered."""
    return int(_env("MAX_ATTEMPTS", 5))


def retry_delay_ms():
    """Return the delay before a failed message is tried again."""
    return int(_env("RETRY_DELAY_MS", 1000))


def fault_latency_ms(service):
    """Return extra latency added to each unit of work, e.g. PAYMENTS_FAULT_LATENCY_MS (0: off)."""
    return int(_env(f"{service.upper()}_FAULT_LATENCY_MS", 0))


def fault_failure_rate(service):
    """Return the fraction of work that fails on purpose, e.g. PAYMENTS_FAULT_FAILURE_RATE."""
    return float(_env(f"{service.upper()}_FAULT_FAILURE_RATE", 0.0))


def teaching_switch(name):
    """Return True when a teaching switch such as TEACH_DISABLE_OUTBOX is set to 1."""
    return _env(name, "0") == "1"


def log_level():
    """Return the log level name for every service."""
    return _env("LOG_LEVEL", "INFO")


def outbox_relay_enabled():
    """Return True in the first worker replica only (WORKER_REPLICA=0): one relay per service."""
    return _env("WORKER_REPLICA", "0") == "0"


def concurrency():
    """Return how many units of work each service handles at once, in both variants
    (CONCURRENCY): an orchestrated service API's request threads, a choreographed worker's
    consumers per service queue (see runner/processes.py)."""
    return max(1, int(_env("CONCURRENCY", 16)))


def consumer_threads():
    """Return how many consumers (a thread and a connection each) a worker runs per service
    queue: CONCURRENCY, unless CONSUMER_THREADS overrides it for one choreographed run (to
    show what a consumer with less concurrency than its orchestrated twin does)."""
    return max(1, int(_env("CONSUMER_THREADS", concurrency())))


def worker_nice():
    """Return how many steps below its start a worker sets its CPU priority (WORKER_NICE, the
    Unix nice increment: 0 keeps it level with the APIs; see orders-choreo/service_worker.py)."""
    return max(0, int(_env("WORKER_NICE", 5)))


# --- The orchestrated variant (orders-orch/): replicas, shards, budgets, bounds, archival. ---

def orchestrator_replicas():
    """Return how many orchestrator replicas run (ORCH_REPLICAS); the orders service spreads over them."""
    return int(_env("ORCH_REPLICAS", 1))


def orchestrator_replica():
    """Return this orchestrator process's replica number (ORCH_REPLICA, from 0)."""
    return int(_env("ORCH_REPLICA", 0))


def orchestrator_port(replica=0):
    """Return replica i's port: ORCHESTRATOR_PORT (8020) for 0, then that + 4 + i (8025, 8026...)."""
    base = port("orchestrator", "orch")
    return base if replica == 0 else base + 4 + replica


def orchestrator_url(replica=0):
    """Return replica i's base URL: the i-th of ORCHESTRATOR_URLS (comma-separated, one per
    replica, as in containers), else this machine's address at orchestrator_port(i)."""
    listed = [url.strip() for url in _env("ORCHESTRATOR_URLS", "").split(",") if url.strip()]
    if replica < len(listed):
        return listed[replica]
    return f"http://127.0.0.1:{orchestrator_port(replica)}"


def orchestrator_urls():
    """Return the base URL of every orchestrator replica."""
    return [orchestrator_url(i) for i in range(orchestrator_replicas())]


def orch_shards():
    """Return the fixed number of saga shards (ORCH_SHARDS); every replica must agree on it."""
    return int(_env("ORCH_SHARDS", 8))


ORCH_TRANSPORTS = ("http", "amqp")


def orch_transport():
    """Return how the orchestrator reaches the services (ORCH_TRANSPORT): `http` (the default,
    a call that waits for each answer) or `amqp` (a command message, answered by a reply)."""
    value = _env("ORCH_TRANSPORT", "http")
    if value not in ORCH_TRANSPORTS:
        raise ValueError(f"ORCH_TRANSPORT must be one of {', '.join(ORCH_TRANSPORTS)}, "
                         f"not {value!r}")
    return value


def orch_reply_timeout_ms():
    """Return how long (ORCH_TRANSPORT=amqp) a step's command waits for its reply before the
    recovery loop sends it again with the same idempotency key (ORCH_REPLY_TIMEOUT_MS)."""
    return int(_env("ORCH_REPLY_TIMEOUT_MS", 5000))


def orch_sync_budget_ms():
    """Return how long POST /sagas drives a saga before answering 202 PENDING (ORCH_SYNC_BUDGET_MS)."""
    return int(_env("ORCH_SYNC_BUDGET_MS", 3000))


def orch_call_timeout_ms():
    """Return the default timeout of one orchestrator call to a service (ORCH_CALL_TIMEOUT_MS)."""
    return int(_env("ORCH_CALL_TIMEOUT_MS", 1000))


def orch_call_attempts():
    """Return how often a step is tried within one drive before it is left to recovery."""
    return int(_env("ORCH_CALL_ATTEMPTS", 4))


def orch_backoff_ms():
    """Return the first retry delay; each retry doubles it, with jitter (ORCH_BACKOFF_MS)."""
    return int(_env("ORCH_BACKOFF_MS", 100))


def orch_max_in_flight():
    """Return the bound on sagas driven at once by one replica; above it POST /sagas is 429."""
    return int(_env("ORCH_MAX_IN_FLIGHT", 64))


def orch_retry_after_s():
    """Return the Retry-After seconds sent with a 429 (ORCH_RETRY_AFTER_S)."""
    return int(_env("ORCH_RETRY_AFTER_S", 1))


def orch_lease_ttl_ms():
    """Return how long a shard lease lasts unless renewed (renewed every third of it)."""
    return int(_env("ORCH_LEASE_TTL_MS", 10_000))


def orch_recovery_every_ms():
    """Return how often a replica looks for unfinished sagas of its shards to resume."""
    return int(_env("ORCH_RECOVERY_EVERY_MS", 1000))


def orch_retention_s():
    """Return how long a finished saga stays in the live tables before it is archived."""
    return int(_env("ORCH_RETENTION_S", 3600))


def orch_archive_every_s():
    """Return how often each replica runs the archival (0: never; `make archive` still works)."""
    return int(_env("ORCH_ARCHIVE_EVERY_S", 60))


def orders_handover_after_ms():
    """Return how old an order not yet handed to the orchestrator must be before the
    orders service's handover loop retries it: when the loop steps in for a request that may
    have died. The loop and the request are kept apart by compare-and-set on the order's
    outbox row, not by this age (Trade-off 31, orders-orch/orders/handover.py)."""
    return int(_env("ORDERS_HANDOVER_AFTER_MS", 15_000))


# --- Waiting for outcomes: GET /orders/<id>?wait=<s>, POST /orders/outcomes?wait=<s>. ---

def order_wait_max_s():
    """Return the longest `?wait=<s>` a request may ask for (ORDER_WAIT_MAX_S)."""
    return float(_env("ORDER_WAIT_MAX_S", 10))


def order_wait_check_ms():
    """Return how often an orders API process looks for awaited orders that left PENDING.
    100 ms: in the choreographed steady ramp the watcher's rounds cost the orders API 0.68
    CPU-ms per order at 50 ms (4.85 against 4.17 at 500 ms, 2026-12-05); at 100 about half of
    that, for an outcome seen at most 100 ms late (the load users' polling was up to 500 ms)."""
    return int(_env("ORDER_WAIT_CHECK_MS", 100))


def order_wait_slots():
    """Return how many requests may wait at once in one orders API process (ORDER_WAIT_SLOTS);
    a wait that finds none free is answered at once. 128: the demo's ramps reach 240 users,
    each waiting for its order, and the orders API's two workers must hold them all; with 64
    the surplus was refused and polled (8,047 requests for 4,016 orders, 2026-12-05)."""
    return max(0, int(_env("ORDER_WAIT_SLOTS", 128)))


# --- Tracing (shared/tracing/): OpenTelemetry's own variable names where it has them. ---

def tracing_enabled():
    """Return False when OTEL_SDK_DISABLED=true: no spans, no instrumentation, no trace file."""
    return _env("OTEL_SDK_DISABLED", "false").strip().lower() != "true"


def otlp_endpoint():
    """Return OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://jaeger:4318), or None: then spans go to
    the variant's local trace file."""
    return _env("OTEL_EXPORTER_OTLP_ENDPOINT", None)


def trace_file(of_variant=None):
    """Return the JSON-lines file every program of a variant appends its spans to."""
    return var_dir() / (of_variant or variant()) / "traces.jsonl"


def trace_flush_ms():
    """Return how long finished spans wait in memory before they are written (OTEL_BSP_SCHEDULE_DELAY)."""
    return int(_env("OTEL_BSP_SCHEDULE_DELAY", 500))


def choreo_services_dir():
    """Return the folder whose `<service>/subscriptions.py` files declare the choreographed
    variant's queues (read as data by `python -m shared.messaging.topology`)."""
    return Path(_env("CHOREO_SERVICES_DIR", str(repo_root() / "orders-choreo")))


# --- The page that watches both variants side by side (watch/). ---

DEFAULT_WATCH_PORT = 8080


def watch_host():
    """Return the address the page binds to (WATCH_HOST): loopback unless you say otherwise."""
    return _env("WATCH_HOST", "127.0.0.1")


def watch_port():
    """Return the page's port (WATCH_PORT)."""
    return int(_env("WATCH_PORT", DEFAULT_WATCH_PORT))


def watch_orders_url(of_variant):
    """Return the public order API the page talks to: WATCH_CHOREO_URL (default: port 8001)
    or WATCH_ORCH_URL (8002)."""
    name = {"choreo": "WATCH_CHOREO_URL", "orch": "WATCH_ORCH_URL"}[of_variant]
    return _env(name, f"http://127.0.0.1:{DEFAULT_PORTS[of_variant]['orders']}")


def watch_orchestrator_url():
    """Return the orchestrator the page asks about sagas (WATCH_ORCHESTRATOR_URL; default 8020)."""
    return _env("WATCH_ORCHESTRATOR_URL",
                f"http://127.0.0.1:{DEFAULT_PORTS['orch']['orchestrator']}")


# --- CPU budgets (runner/budgets.py): a cgroup quota per program, in cores. ---

def budget_mode(default="off"):
    """Return BUDGET: `off`, `on` (fail where cgroups are not writable) or `auto` (budgets
    where they are, none otherwise). The runner defaults to off, the load harness to auto."""
    return _env("BUDGET", default).strip().lower()


def budget_cores():
    """Return the quota of each service program (every API, worker, orchestrator replica), in
    cores (BUDGET_CORES): a quarter core, so the ten programs of a variant oversubscribe two
    cores only when all are busy at once."""
    return float(_env("BUDGET_CORES", 0.25))


def budget_orders_api_cores():
    """Return the orders API's quota in cores (BUDGET_ORDERS_API_CORES): it runs two gunicorn
    workers, two small machines, so it gets two service programs' worth by default."""
    return float(_env("BUDGET_ORDERS_API_CORES", 2 * budget_cores()))


def budget_broker_cores():
    """Return RabbitMQ's quota in cores (BUDGET_BROKER_CORES): it carries every message of the
    choreographed variant, so it gets two services' worth."""
    return float(_env("BUDGET_BROKER_CORES", 0.5))


def budget_db_cores():
    """Return PostgreSQL's quota in cores (BUDGET_DB_CORES): every service's database."""
    return float(_env("BUDGET_DB_CORES", 0.5))


def budget_load_cores():
    """Return Locust's quota in cores (BUDGET_LOAD_CORES): the load generator, kept from
    taking the cores of the system it measures."""
    return float(_env("BUDGET_LOAD_CORES", 0.5))
