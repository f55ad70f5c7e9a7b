"""The fault catalogue: one short function per fault, each run under load against a running
variant. The harness (run.py) heals, waits for quiet, audits and measures after each.

Each function gets a Context and returns notes for the results table. `ctx.short` makes the
test suite's version: fewer orders, shorter outages, the same fault.
"""
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from chaos import broker_faults
from chaos.load import expected_outcome, order_body
from ops import queues
from ops.deadletters import list_dead_letters, replay_dead_letters
from shared.messaging import topology
from shared.runtime.config import SERVICES

SCENARIOS = {}
ALL = ("choreo", "orch", "orch-amqp")  # orch-amqp: orch with ORCH_TRANSPORT=amqp (system.py)
ORCH = ("orch", "orch-amqp")
# By the runner's variant. orch: above ORCH_CALL_TIMEOUT_MS, answers get lost (over HTTP; over
# messages the reply comes late, within ORCH_REPLY_TIMEOUT_MS, and the queue holds the rest).
SLOW_MS = {"choreo": 200, "orch": 1200}
FLAKY_RATE = 0.25


def scenario(name, variants=ALL):
    """Register a scenario function under `name` for the given variants."""
    def register(function):
        SCENARIOS[name] = (function, variants)
        return function
    return register


def _kill_service(service):
    def run(ctx):
        ctx.under_load(lambda: ctx.system.crash(ctx.system.programs(service), ctx.down_s))
        return [f"kill -9 {', '.join(ctx.system.programs(service))}, up {ctx.down_s:g}s later"]
    return run


def _faulty(service, setting):
    def run(ctx):
        name = f"{service.upper()}_FAULT_{setting}"
        value = SLOW_MS[ctx.system.style] if setting == "LATENCY_MS" else FLAKY_RATE
        programs = ctx.system.workers(service)
        ctx.system.restart_with(programs, {name: str(value)})
        ctx.under_load(None)
        ctx.system.restart_with(programs, {name: ""})  # heal
        notes = [f"{name}={value} on {', '.join(programs)}"]
        if ctx.system.style == "choreo" and setting == "FAILURE_RATE":
            notes.append(_replay_given_up(ctx))
        return notes
    return run


def _replay_given_up(ctx):
    """Healing, the operator's part: replay events given up after MAX_ATTEMPTS failures."""
    time.sleep(2)  # let the last retries land
    given_up = [d for d in list_dead_letters(ctx.amqp_url)
                if not str(d["reason"]).startswith("poison")]
    if given_up:
        replay_dead_letters(ctx.amqp_url)
    return f"{len(given_up)} dead letter(s) replayed"


for _service in SERVICES:
    scenario(f"kill-{_service}")(_kill_service(_service))
for _service in SERVICES:
    scenario(f"slow-{_service}")(_faulty(_service, "LATENCY_MS"))
for _service in SERVICES:
    scenario(f"flaky-{_service}")(_faulty(_service, "FAILURE_RATE"))


@scenario("kill-orchestrator", ORCH)
def kill_orchestrator(ctx):
    """Every orchestrator replica dies in the middle of sagas."""
    return _kill_service("orchestrator")(ctx)


@scenario("kill-replica")
def kill_replica(ctx):
    """With two replicas, one dies; the other carries on (takes over its shards or messages)."""
    system = ctx.system
    if system.style == "orch":
        victims = ["orchestrator-1"]
    else:
        victims = [f"{s}-worker:{s}-worker-1" for s in SERVICES]
    ctx.under_load(lambda: system.crash(victims, ctx.down_s))
    return [f"kill -9 {', '.join(victims)}, up {ctx.down_s:g}s later"]


@scenario("broker-restart", ("choreo", "orch-amqp"))
def broker_restart(ctx):
    """RabbitMQ stops in the middle of the load, the rest of the orders arrive while it is
    down, and it starts again (orch-amqp: the broker its commands and replies travel through)."""
    broker = ctx.system.broker

    def restart():
        broker.stop()
        ctx.load.release()  # the held rest of the load: sent while the broker is down
        ctx.load.join(timeout=ctx.down_s)
        broker.start()
    ctx.under_load(restart, hold=True)
    return ["rabbitmqctl stop, the rest of the load, then start"]


@scenario("duplicates", ("choreo", "orch-amqp"))
def duplicates(ctx):
    """Every message arrives three times (choreo: each event; orch-amqp: each command and
    reply), and a killed consumer's unacked messages are redelivered."""
    amqp = ctx.system.variant == "orch-amqp"
    exchange = queues.COMMANDS_EXCHANGE if amqp else topology.EXCHANGE
    killed = "inventory-api" if amqp else "inventory-worker"  # where inventory's consumers run
    broker_faults.open_tap(ctx.amqp_url, exchange)
    from runner import chaos_control
    ctx.under_load(lambda: chaos_control.kill(ctx.system.folder, killed))
    copies = broker_faults.republish_tapped(ctx.amqp_url, copies=2, exchange=exchange)
    what = "commands and replies" if amqp else "events"
    return [f"{copies} duplicate {what} published; {killed} killed (redeliveries)"]


@scenario("poison", ("choreo", "orch-amqp"))
def poison(ctx):
    """A poison message on every queue (orch-amqp: each service's commands, each replica's
    replies): dead-lettered with the reason, and the consumers go on."""
    targets = (broker_faults.command_queues(ctx.system.replicas)
               if ctx.system.variant == "orch-amqp" else None)
    sent = []
    ctx.under_load(lambda: sent.extend(broker_faults.publish_poison(ctx.amqp_url, ctx.tag,
                                                                    targets)))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dead = {d["message_id"] for d in list_dead_letters(ctx.amqp_url)}
        missing = [m for _, m in sent if m not in dead]
        if not missing:
            break
        time.sleep(1)
    ctx.check(not missing, f"poison not dead-lettered: {missing[:5]}")
    return [f"{len(sent) - len(missing)}/{len(sent)} poison messages dead-lettered"]


@scenario("idempotency")
def idempotency(ctx):
    """Concurrent POSTs with the same Idempotency-Key, during the load: one order per key."""
    keys, racers, answers = (5 if ctx.short else 20), 8, []
    ctx.under_load(lambda: answers.extend(_race(ctx, keys, racers)))
    ids_per_key = {}
    for key, order_id in answers:
        ids_per_key.setdefault(key, set()).add(order_id)
    ctx.check(all(len(ids) == 1 for ids in ids_per_key.values()),
              f"a key gave two orders: {ids_per_key}")
    found = _orders_of(ctx, f"{ctx.tag}-race")
    ctx.check(len(found) == keys, f"{len(found)} orders stored for {keys} keys")
    ctx.extra_keys += keys
    return [f"{keys} keys x {racers} racing POSTs -> {len(found)} orders (invariant 6)"]


def _race(ctx, keys, racers):
    def post(job):
        key, body = job
        with requests.Session() as session:
            answer = session.post(f"{ctx.system.urls['orders']}/orders", json=body,
                                  headers={"Idempotency-Key": key}, timeout=30)
        order_id = answer.json().get("order_id") if answer.status_code < 300 else None
        ctx.ledger.record(key, body["customer_id"], expected_outcome(0), answer.status_code,
                          order_id)
        return key, order_id

    jobs = [(f"{ctx.tag}-race-{k}", order_body(0, f"{ctx.tag}-race-{k}")) for k in range(keys)]
    with ThreadPoolExecutor(max_workers=racers) as pool:
        found = list(pool.map(post, [job for job in jobs for _ in range(racers)]))
    return [(key, order_id) for key, order_id in found if order_id]


def _orders_of(ctx, prefix):
    from audit.fetch import all_items
    with requests.Session() as session:
        orders = all_items(session, ctx.system.urls["orders"], "/orders")
    return [o for o in orders if o["customer_id"].startswith(prefix)]


def names(variant):
    """Return the scenario names that apply to a variant, in catalogue order."""
    return [name for name, (_, variants) in SCENARIOS.items() if variant in variants]

