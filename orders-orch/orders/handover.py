"""Hand each order to the orchestrator, and lose none on the way (orders service, orchestrated).

The orders service writes the order and a `saga.start` row in its outbox in ONE transaction,
then calls POST /sagas at once. When that call fails (no replica answers, a timeout), the row
stays unsent and the handover loop below retries it later, with `Prefer: respond-async`: the
orchestrator then only stores the saga, which its recovery loop drives. POST /sagas is
idempotent per order, so handing over twice is harmless (each gunicorn worker runs a loop).
Twin: shared/messaging/relay.py, which relays the choreographed outbox to RabbitMQ instead.
"""
import json
import logging
import threading
from datetime import timedelta

from sqlalchemy import delete, insert, select, update

from shared import config
from shared.db import transaction
from shared.domain import orders
from shared.models.base import utcnow
from shared.models.orders import orders as orders_table
from shared.models.plumbing import outbox
from orders.orchestrator_client import start_saga

log = logging.getLogger(__name__)
ROUTING_KEY = "saga.start"
BATCH = 50
EVERY_S = 1.0


def add(session, order_row, correlation_id):
    """Queue the order's handover in the transaction that stores the order."""
    body = {"order": orders.saga_facts(order_row), "correlation_id": correlation_id}
    session.execute(insert(outbox).values(
        message_id=order_row["order_id"], routing_key=ROUTING_KEY, body=json.dumps(body),
        created_at=utcnow(), sent_at=None))


def hand_over(session_factory, order_id, wait=True):
    """Call POST /sagas for a stored order; mark it handed over on a 2xx; return the Response."""
    with session_factory() as session:
        row = session.execute(select(outbox.c.body).where(outbox.c.message_id == order_id)).first()
    body = json.loads(row.body)
    answer = start_saga(body["order"], body["correlation_id"], wait=wait)
    if answer is not None and answer.ok:
        with transaction(session_factory) as session:
            session.execute(update(outbox).where(outbox.c.message_id == order_id)
                            .values(sent_at=utcnow()))
    return answer


def withdraw(session_factory, order_id):
    """Undo accepting an order the orchestrator refused (429); False if it was handed over."""
    with transaction(session_factory) as session:
        gone = session.execute(delete(outbox).where(outbox.c.message_id == order_id,
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
                answer = hand_over(session_factory, order_id, wait=False)
                if answer is None or not answer.ok:
                    break  # the orchestrator is down or busy: try again next round
        except Exception:  # keep the loop alive whatever one round hit
            log.exception("handover round failed")
        threading.Event().wait(EVERY_S)


def _due(session_factory):
    # Trade-off 12: only rows older than ORDERS_HANDOVER_AFTER_MS, so the loop never races the
    # request that is still handing its order over (and may withdraw it on a 429).
    cutoff = utcnow() - timedelta(milliseconds=config.orders_handover_after_ms())
    with session_factory() as session:
        return list(session.execute(
            select(outbox.c.message_id).where(outbox.c.routing_key == ROUTING_KEY,
                                              outbox.c.sent_at.is_(None),
                                              outbox.c.created_at < cutoff)
            .order_by(outbox.c.id).limit(BATCH)).scalars())
