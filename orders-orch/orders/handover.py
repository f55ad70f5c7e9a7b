"""Hand each order to the orchestrator, and lose none on the way (orders service, orchestrated).

The orders service writes the order and a `saga.start` row in its outbox in ONE transaction,
then calls POST /sagas at once. When that call fails (no replica answers, a timeout), the row
stays unsent and the handover loop below retries it later, with `Prefer: respond-async`: the
orchestrator then only stores the saga, which its recovery loop drives. POST /sagas is
idempotent per order, so handing over twice is harmless (each gunicorn worker runs a loop).

Who may still withdraw the order (on a 429) is decided by state, not by age: the row's `owner`
is "request" while the POST /orders that stored it is handing it over, and only then may that
request delete it; the loop first takes the row over ("loop") with a compare-and-set, and from
then on the order stays, whatever the request's call answers. A replay of the POST /orders
(same Idempotency-Key) takes it over the same way before it answers that the order is
accepted, so the order it names cannot be withdrawn after that answer (keep()).
Twin: shared/messaging/relay.py, which relays the choreographed outbox to RabbitMQ instead.
"""
import json
import logging
import threading
from datetime import timedelta

from sqlalchemy import delete, insert, or_, select, update

from shared import tracing
from shared.domain import orders
from shared.models.base import utcnow
from shared.models.orders import orders as orders_table
from shared.models.plumbing import outbox
from shared.runtime import config, faults
from shared.runtime.db import first_row, read_only, transaction, update_where
from orders.orchestrator_client import start_saga

log = logging.getLogger(__name__)
ROUTING_KEY = "saga.start"
BATCH = 50
EVERY_S = 1.0
REQUEST, LOOP = "request", "loop"  # who hands the order over (the outbox row's owner)


def add(session, order_row, correlation_id):
    """Queue the order's handover in the transaction that stores the order."""
    body = {"order": orders.saga_facts(order_row), "correlation_id": correlation_id}
    tracing.set_order(order_row["order_id"])  # tag the POST /orders span with its order
    session.execute(insert(outbox), {  # the row as parameters (Trade-off 46, shared/runtime/db.py)
        "message_id": order_row["order_id"], "routing_key": ROUTING_KEY,
        "body": json.dumps(body), "created_at": utcnow(), "sent_at": None, "owner": REQUEST,
        "headers": tracing.headers_json()})


def hand_over(session_factory, order_id, wait=True):
    """Call POST /sagas for a stored order; mark it handed over on a 2xx; return the Response.
    wait=True is the request that stored the order; wait=False the loop, which has claimed it."""
    with read_only(session_factory) as session:
        row = first_row(session, outbox, message_id=order_id)
    body = json.loads(row["body"])
    if wait:
        faults.stall_point("orders.before_handover")  # a slow request, for the tests
    with tracing.continued(tracing.from_json(row["headers"])):  # the loop continues the order's trace
        answer = start_saga(body["order"], body["correlation_id"], wait=wait)
    if answer is not None and answer.ok:
        faults.crash_point("orders.after_handover")  # handed over, not yet marked: the tests
        faults.stall_point("orders.before_mark_sent")  # a slow loop, for the tests
        with transaction(session_factory) as session:
            update_where(session, outbox, {"message_id": order_id}, sent_at=utcnow())
    elif wait and (answer is None or answer.status_code != 429):
        claim(session_factory, order_id)  # failed for another reason: the loop takes it now
    return answer


def claim(session_factory, order_id):
    """Take an unsent handover over for the loop; False when it was withdrawn or sent."""
    # Trade-off 31: handover and withdrawal are exclusive by state: each is one conditional
    # write on the same row (compare-and-set), and whichever commits first wins. Age only says
    # when the loop steps in for a request that may have died; it no longer keeps the two
    # apart, so a request slower than ORDERS_HANDOVER_AFTER_MS cannot race a withdrawal.
    # It costs one more write per order the loop hands over.
    with transaction(session_factory) as session:
        return session.execute(update(outbox).where(
            outbox.c.message_id == order_id, outbox.c.sent_at.is_(None))
            .values(owner=LOOP)).rowcount == 1


def keep(session_factory, order_id):
    """For a replay of the POST /orders that stored an order: make sure the order stays, and
    return it; None when the request that stored it withdrew it first (a 429)."""
    # Trade-off 58: a replay answers "accepted" only once no withdrawal can follow: it takes
    # an unsent handover its request still owns over for the loop, with the same
    # compare-and-set as claim(), so the request's withdraw() then finds nothing to delete
    # and answers 202 too. It costs a write transaction per replay (it changes a row only
    # while the first request is still handing the order over), and then a second
    # POST /sagas, from the loop, if that request's own call was not refused.
    with transaction(session_factory) as session:
        session.execute(update(outbox).where(
            outbox.c.message_id == order_id, outbox.c.owner == REQUEST,
            outbox.c.sent_at.is_(None)).values(owner=LOOP))
        return orders.get(session, order_id)


def withdraw(session_factory, order_id):
    """Undo accepting an order the orchestrator refused (429), only while the request still
    owns its handover; False when the loop took it over (or it was sent): the order stays."""
    faults.stall_point("orders.before_withdraw")  # refused, not yet withdrawn: the tests
    with transaction(session_factory) as session:
        gone = session.execute(delete(outbox).where(outbox.c.message_id == order_id,
                                                    outbox.c.owner == REQUEST,
                                                    outbox.c.sent_at.is_(None))).rowcount
        if gone:
            session.execute(delete(orders_table).where(orders_table.c.order_id == order_id))
        return gone == 1


def start_loop(session_factory):
    """Start the handover loop in a daemon thread of this process."""
    thread = threading.Thread(target=_loop, args=(session_factory,), name="handover",
                              daemon=True)
    thread.start()
    return thread


def _loop(session_factory):
    while True:
        try:
            for order_id in _due(session_factory):
                if not claim(session_factory, order_id):
                    continue  # withdrawn by its request meanwhile
                answer = hand_over(session_factory, order_id, wait=False)
                if answer is None or not answer.ok:
                    break  # the orchestrator is down or busy: try again next round
        except Exception:  # keep the loop alive whatever one round hit
            log.exception("handover round failed")
        threading.Event().wait(EVERY_S)


def _due(session_factory):
    # Trade-off 12: rows the loop owns, and rows older than ORDERS_HANDOVER_AFTER_MS (their
    # request may have died), so the loop does not call POST /sagas a second time for every
    # order whose request is still calling it. Which of the two then acts is claim()'s answer.
    cutoff = utcnow() - timedelta(milliseconds=config.orders_handover_after_ms())
    with session_factory() as session:
        return list(session.execute(
            select(outbox.c.message_id).where(outbox.c.routing_key == ROUTING_KEY,
                                              outbox.c.sent_at.is_(None),
                                              or_(outbox.c.owner == LOOP,
                                                  outbox.c.created_at < cutoff))
            .order_by(outbox.c.id).limit(BATCH)).scalars())
