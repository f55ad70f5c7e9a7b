"""Domain steps and idempotency keys under real concurrency: processes, not threads, at once.

Several processes (multiprocessing) released together by a barrier each open their own
connections and race on the same rows, on SQLite and on a throwaway PostgreSQL:
- reserving a scarce SKU: never more sold than stocked, and the stock always adds up;
- settling the same reservation and charging the same order: the effect happens once;
- placing an order with the same Idempotency-Key: one order, and every caller gets it.
Then the same key is raced through real gunicorn processes, on both databases too: the
choreographed orders API and one orchestrated service's command API (payments).
Red once: with inventory.reserve back to read-then-write (or `insert_if_absent` replaced by a
select-then-insert), the oversell and double-order assertions fail on PostgreSQL.
"""
import multiprocessing
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from runner.postgres import Cluster
from runner.processes import gunicorn
from shared.domain import catalog
from shared.runtime.db import (insert_if_absent_at_commit, make_engine, make_session_factory,
                       read_only, transaction)
from shared.domain import inventory, orders, payments
from shared.http.validation import PlaceOrder
from shared.models import inventory as inventory_tables
from shared.models import orders as order_tables
from shared.models import payments as payment_tables
from shared.models import plumbing
from shared.models.base import utcnow
from tests.support import ROOT, throwaway_postgres, wait_for

PROCESSES = 6
TOKEN = "concurrency-test-token"  # the service credential of the served command APIs
ORDERS_EACH = 4  # every process reserves this many orders of QUANTITY units of the scarce SKU
QUANTITY = 2
SCARCE = catalog.SCARCE_SKU
STOCK = catalog.PRODUCTS[SCARCE].initial_stock
METADATA = (inventory_tables.metadata, order_tables.metadata, payment_tables.metadata,
            plumbing.metadata)
CAN_HOLD = STOCK // QUANTITY
ALL_ORDERS = [f"order-{n}-{i}" for n in range(PROCESSES) for i in range(ORDERS_EACH)]
ORDER_BODY = {"customer_id": "cust", "items": [{"sku": "MUG-RED", "quantity": 1}],
              "payment": {"card_token": "tok_visa"},
              "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin",
                                   "postcode": "10115", "country": "DE"}}
PLACE = PlaceOrder(customer_id="cust", items=ORDER_BODY["items"], card_token="tok_visa",
                   shipping_address=ORDER_BODY["shipping_address"])
POSTGRES_PORT = 15434
ORDERS_PORT, PAYMENTS_PORT = 18901, 18902


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster (as `--db postgres` starts one) with an empty database."""
    with throwaway_postgres(POSTGRES_PORT, "test-concurrency-postgres"):
        yield f"postgresql+psycopg://postgres@127.0.0.1:{POSTGRES_PORT}"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def raced(request, tmp_path_factory):
    """Seed a fresh database, then let PROCESSES processes race through every step at once
    (see _contend); return (database URL, each process's answers)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('race') / 'race.db'}"
    else:
        url = _new_postgres_database(request, "race")
    sessions = _sessions(url)
    with transaction(sessions) as session:
        inventory.seed(session)
    sessions.kw["bind"].dispose()
    return url, _race(_contend, url)


def _new_postgres_database(request, prefix):
    """Create an empty database in the module's PostgreSQL cluster; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    base = request.getfixturevalue("postgres_url")
    Cluster(POSTGRES_PORT, ROOT / "var" / "test-concurrency-postgres").create_databases([name])
    return f"{base}/{name}"


def _sessions(url):
    return make_session_factory(make_engine(url), *METADATA)


def _race(target, *args):
    """Run target(barrier, number, *args) in PROCESSES processes; return their answers."""
    context = multiprocessing.get_context("fork")  # each makes its own engine after the fork
    barrier, answers = context.Barrier(PROCESSES), context.Queue()
    workers = [context.Process(target=_contender, args=(target, barrier, answers, number, *args))
               for number in range(PROCESSES)]
    for worker in workers:
        worker.start()
    results = [answers.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    failed = [r for r in results if isinstance(r, str) and r.startswith("error:")]
    assert not failed, failed
    return results


def _contender(target, barrier, answers, number, *args):
    try:
        answers.put(target(barrier, number, *args))
    except Exception as exc:  # report it to the test rather than die silently, and release
        barrier.abort()       # the others from the barrier they would wait at forever
        answers.put(f"error: {exc!r}")


# --- what each contending process does, step by step, all processes at once ---------------

def _contend(barrier, number, url):
    sessions = _sessions(url)
    barrier.wait()
    held = []
    for i in range(ORDERS_EACH):  # 1. reserve the scarce SKU for orders of its own
        with transaction(sessions) as session:
            held.append(inventory.reserve(session, f"order-{number}-{i}",
                                          [{"sku": SCARCE, "quantity": QUANTITY}]))
    barrier.wait()
    committed = 0
    for order_id in ALL_ORDERS:  # 2. commit every order's reservation, everyone's
        with transaction(sessions) as session:
            committed += inventory.commit(session, order_id)
    barrier.wait()
    with transaction(sessions) as session:  # 3. charge one order, then refund it
        payment = payments.charge(session, "order-paid", "cust", 2500, "EUR", "tok_visa")
    with transaction(sessions) as session:
        refunded = payments.refund(session, "order-paid")
    barrier.wait()
    with transaction(sessions) as session:  # 4. place an order with one Idempotency-Key
        order, created = orders.place(session, PLACE, "corr", "the-one-key",
                                      orders.request_hash(ORDER_BODY))
    return {"held": held, "committed": committed, "payment_id": payment["payment_id"],
            "refunded": refunded, "order_id": order["order_id"], "created": created}


def _post_with_key(barrier, _number, url, body):
    barrier.wait()
    answer = requests.post(url, json=body, timeout=60, headers={
        "Idempotency-Key": "raced-key", "Authorization": f"Bearer {TOKEN}"})
    return answer.status_code, answer.json(), answer.headers.get("Idempotent-Replayed")


# --- the races ------------------------------------------------------------------------------

def _count(url, table, *where):
    with _sessions(url)() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where))


def _stock(url):
    with _sessions(url)() as session:
        return session.execute(select(inventory_tables.stock)
                               .where(inventory_tables.stock.c.sku == SCARCE)).mappings().one()


def test_processes_racing_for_a_scarce_sku_never_oversell_it(raced):
    url, answers = raced
    statuses = [status for answer in answers for status in answer["held"]]

    assert len(statuses) * QUANTITY > STOCK  # the race is for more than there is
    assert statuses.count(inventory.HELD) == CAN_HOLD
    row = _stock(url)
    assert row["available"] == STOCK - CAN_HOLD * QUANTITY
    assert row["available"] + row["reserved"] + row["committed"] == row["initial"]


def test_processes_settling_the_same_reservations_commit_each_once(raced):
    url, answers = raced

    assert sum(answer["committed"] for answer in answers) == CAN_HOLD
    row = _stock(url)
    assert (row["reserved"], row["committed"]) == (0, CAN_HOLD * QUANTITY)


def test_processes_charging_the_same_order_charge_and_refund_it_once(raced):
    url, answers = raced

    assert len({answer["payment_id"] for answer in answers}) == 1
    assert sum(answer["refunded"] for answer in answers) == 1
    assert _count(url, payment_tables.payments) == 1
    assert _count(url, payment_tables.refunds) == 1


def test_processes_placing_with_one_idempotency_key_get_one_order(raced):
    url, answers = raced

    assert len({answer["order_id"] for answer in answers}) == 1
    assert sum(answer["created"] for answer in answers) == 1
    assert _count(url, order_tables.orders) == 1


# --- the same key raced through real gunicorn processes --------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def served(request, tmp_path):
    """Start an app factory under real gunicorn (2 processes) on a fresh SQLite file or
    PostgreSQL database; return its base URL. (SQLite lets one writer in at a time, so only
    PostgreSQL shows a check-then-insert of the key racing itself.)"""
    started = []
    database = (f"sqlite:///{tmp_path / 'api.db'}" if request.param == "sqlite"
                else _new_postgres_database(request, "api"))

    def serve(variant, app, port, database_env):
        env = {"PYTHONPATH": f"{ROOT}:{ROOT / ('orders-' + variant)}", "VARIANT": variant,
               "VAR_DIR": str(tmp_path), database_env: database, "PATH": "/usr/bin:/bin",
               "SERVICE_TOKEN": TOKEN}  # a command is internal: it needs the credential
        process = subprocess.Popen(gunicorn(app, port, workers=2, threads=4), cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{url}/health"), timeout=60, message=f"{app} to answer")
        return url

    yield serve
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def _answers(url):
    try:
        return requests.get(url, timeout=2).status_code > 0
    except requests.RequestException:
        return False


def test_processes_posting_one_idempotency_key_to_the_orders_api_get_one_order(served):
    url = served("choreo", "orders.api:create_app()", ORDERS_PORT, "ORDERS_DATABASE_URL")
    answers = _race(_post_with_key, f"{url}/orders", ORDER_BODY)

    assert {status for status, _, _ in answers} == {202}
    assert len({order["order_id"] for _, order, _ in answers}) == 1
    listed = requests.get(f"{url}/orders", timeout=10).json()["items"]
    assert len(listed) == 1


def test_processes_posting_one_idempotency_key_to_a_command_api_charge_once(served):
    url = served("orch", "payments.api:create_app()", PAYMENTS_PORT, "PAYMENTS_DATABASE_URL")
    body = {"order_id": "order-raced", "customer_id": "cust", "amount_cents": 2500,
            "currency": "EUR", "card_token": "tok_visa"}
    answers = _race(_post_with_key, f"{url}/payments", body)

    assert {status for status, _, _ in answers} == {201}
    assert len({payment["payment_id"] for _, payment, _ in answers}) == 1
    assert [replayed for _, _, replayed in answers].count(None) == 1  # one ran it, the rest replayed
    listed = requests.get(f"{url}/payments", timeout=10).json()["items"]
    assert len(listed) == 1


# --- two transactions writing the same keyed rows in opposite orders (Trade-off 54) --------

def _timeline_row(message_id):
    return {"order_id": "o-1", "message_id": message_id, "at": utcnow(), "service": "t",
            "name": "stock.committed", "outcome": "committed", "correlation_id": "c"}


def test_two_transactions_writing_the_same_timeline_rows_in_opposite_orders_both_commit(request):
    """As the tracker's batch and the transaction settling an order do: each writes one row,
    then, once the other has written its first, the other's row. Written at once, each would
    hold a key the other waits for (PostgreSQL: deadlock detected, one fails); written at the
    commit in one sorted order, one waits for the other and both commit."""
    sessions = _sessions(_new_postgres_database(request, "timeline"))
    both_wrote_one = threading.Barrier(2, timeout=30)

    def write(first, second):
        with transaction(sessions) as session:
            insert_if_absent_at_commit(session, order_tables.timeline,
                                       [_timeline_row(first)], "message_id")
            both_wrote_one.wait()
            insert_if_absent_at_commit(session, order_tables.timeline,
                                       [_timeline_row(second)], "message_id")
        return "committed"

    with ThreadPoolExecutor(2) as pool:
        outcomes = [pool.submit(write, "m-a", "m-b"), pool.submit(write, "m-b", "m-a")]
        assert [outcome.result(timeout=60) for outcome in outcomes] == ["committed"] * 2
    with sessions() as session:
        assert session.scalars(select(order_tables.timeline.c.message_id)
                               .order_by(order_tables.timeline.c.message_id)).all() == [
            "m-a", "m-b"]


# --- a read in autocommit leaves its pooled connection as it found it (Trade-off 112) ---------

def test_a_write_after_a_read_on_the_same_postgresql_connection_still_rolls_back(request):
    """On PostgreSQL read_only() runs its statements in autocommit. The pool hands the same
    connection to the next writer, which must be in a transaction again: a write whose work
    then fails leaves nothing behind, and the reads before and after see the same rows."""
    sessions = make_session_factory(
        make_engine(_new_postgres_database(request, "reads"), pool_size=1),
        order_tables.metadata)
    with read_only(sessions) as session:
        reader = session.connection.dbapi_connection
        assert session.scalars(select(order_tables.timeline.c.message_id)).all() == []
    with pytest.raises(RuntimeError, match="the work failed"):
        with transaction(sessions) as session:
            assert session.connection.dbapi_connection is reader  # the one pooled connection
            session.execute(order_tables.timeline.insert(), _timeline_row("m-a"))
            raise RuntimeError("the work failed")
    with read_only(sessions) as session:
        assert session.connection.dbapi_connection is reader
        assert session.scalars(select(order_tables.timeline.c.message_id)).all() == []
