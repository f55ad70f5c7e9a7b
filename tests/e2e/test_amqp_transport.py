"""The orchestrated variant with ORCH_TRANSPORT=amqp, started by the runner as
`make up-orch ORCH_TRANSPORT=amqp` starts it: an order of each outcome ends in the same status,
with the same ledger, as over HTTP (tests/e2e/test_outcomes.py), and the ledger audit passes.

Only these tests run on this transport: the other e2e tests cover the variant over HTTP, and
the steps' reliability over messages is tested in tests/integration/test_saga_messages.py.
"""
import pika
import psutil
import pytest
import requests

from audit.__main__ import audit_when_quiet, report
from audit.fetch import snapshot
from audit.ledger import read, tally
from shared.runtime import config
from tests.e2e.conftest import E2E_DB, TEST_AMQP_URL
from tests.support import OUTCOMES, ROOT, RunningVariant, endings, get_json, moved_ports, \
    new_ledger, order, post_recorded, wait_final, wait_for

PORT_OFFSET = 11000  # beside the e2e suite's own orch (10000), which may run in this session
POSTGRES_PORT = "15438"  # E2E_DB=postgres: a cluster of its own, beside the suite's (tests/e2e/conftest.py)


@pytest.fixture(scope="module")
def amqp_system(test_broker):
    """The orchestrated variant over RabbitMQ, for this module."""
    env = {**moved_ports("orch", PORT_OFFSET), "AMQP_URL": TEST_AMQP_URL,
           "ORCH_TRANSPORT": "amqp", "POSTGRES_PORT": POSTGRES_PORT,
           "CONSUMER_THREADS": "4",  # command consumers per service: a light machine's share
           # a budget no saga of a test machine can outrun: a 202 here means the reply
           # consumer never woke the waiting request, not a slow step
           "ORCH_SYNC_BUDGET_MS": "20000"}
    running = RunningVariant("orch", ROOT / "var" / "test-e2e-orch-amqp", env, db=E2E_DB)
    running.start()
    yield running
    running.stop()


def test_the_runner_starts_the_command_consumers_and_the_broker(amqp_system):
    assert any("broker" in line for line in amqp_system.output)
    logs = amqp_system.var_dir / "orch" / "logs"
    consuming = [path.name for path in logs.glob("*.log")
                 if "consuming commands from" in path.read_text(errors="replace")]
    assert {name.split("-")[0] for name in consuming} == set(config.SERVICES), consuming
    # the orchestrator says how it drives its sagas (what the watch page shows)
    health = requests.get(f"{amqp_system.url('orchestrator')}/health", timeout=10).json()
    assert health == {"status": "ok", "transport": "amqp"}, health


def test_each_outcome_ends_as_over_http_and_the_ledger_audit_passes(amqp_system, tmp_path):
    urls = {s: amqp_system.url(s) for s in config.SERVICES}
    ledger, scope = new_ledger(tmp_path, "amqp")
    with requests.Session() as http:
        placed = {outcome: post_recorded(http, urls["orders"], ledger, scope, n, outcome)
                  for n, outcome in enumerate(OUTCOMES)}
        assert {o: r.status_code for o, r in placed.items()} == dict.fromkeys(OUTCOMES, 201), \
            "each saga ends within the budget: 201 with its final status"
        for outcome, response in placed.items():
            _, status, reason = OUTCOMES[outcome]
            final = wait_final(http, urls["orders"], response.json()["order_id"])
            assert (final["status"], final["reason"]) == (status, reason)
            if outcome == "shipping_unavailable":
                payments = get_json(http, f"{urls['payments']}/payments?order_id="
                                    f"{final['order_id']}")["items"]
                assert [p["status"] for p in payments] == ["refunded"]
    results, _ = audit_when_quiet("orch", urls, 60, ledger=ledger.path,
                                  orchestrator_url=amqp_system.url("orchestrator"))
    assert report(results), [violations for _, _, violations in results if violations]
    counts = tally(read(ledger.path)[1], snapshot(urls))
    assert counts["ended"] == endings(dict.fromkeys(OUTCOMES, 1))


def _consumers_of(queue):
    """Return how many consumers the broker counts on a queue."""
    with pika.BlockingConnection(pika.URLParameters(TEST_AMQP_URL)) as connection:
        return connection.channel().queue_declare(queue, passive=True).method.consumer_count


def _orders_api_workers(amqp_system):
    """Return the orders API's gunicorn workers (psutil processes): it runs two."""
    status = amqp_system.runner("status", "orch").stdout
    master = next(int(line.split("pid")[1]) for line in status.splitlines()
                  if line.startswith("orders-api") and "pid" in line)
    return psutil.Process(master).children()


def test_one_orders_api_worker_consumes_its_commands_and_the_other_takes_over(amqp_system):
    """Trade-off 85: of the orders API's two workers one consumes the commands and relays the
    replies (two relays on one outbox sent replies twice); killed, the other takes over."""
    workers = _orders_api_workers(amqp_system)
    assert len(workers) == 2
    assert _consumers_of("orders.commands") == 4  # CONSUMER_THREADS of ONE worker, not 8
    broker_port = int(TEST_AMQP_URL.split(":")[-1].split("/")[0])
    holder, = [w for w in workers  # the one with connections to the broker
               if any(c.raddr and c.raddr.port == broker_port for c in w.net_connections())]
    holder.kill()
    wait_for(lambda: _consumers_of("orders.commands") == 4 and
             holder.pid not in [w.pid for w in _orders_api_workers(amqp_system)],
             timeout=60, message="the standing-by worker consumes the commands")
    with requests.Session() as http:  # and a saga still ends through the orders service
        placed = http.post(f"{amqp_system.url('orders')}/orders", json=order(), timeout=30)
        final = wait_final(http, amqp_system.url("orders"), placed.json()["order_id"])
    assert final["status"] == "COMPLETED"


def test_every_program_stops_on_sigterm_without_a_kill(amqp_system):
    """Stopping the variant (Ctrl-C) stops each program within supervisord's stop limit: its
    command consumers and relays must not keep a gunicorn worker alive until SIGKILL. Last in
    this module: it stops the module's variant."""
    supervised = amqp_system.pids()
    amqp_system.stop()
    log = (amqp_system.var_dir / "orch" / "supervisord.log").read_text(errors="replace")
    killed = [line for line in log.splitlines() if "SIGKILL" in line]
    assert supervised and not killed, "\n".join(killed)
