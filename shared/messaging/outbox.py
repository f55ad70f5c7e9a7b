"""The transactional outbox: an event is written in the same transaction as the change that
caused it, so either both happen or neither does. The relay publishes it afterwards.

Publishing straight to the broker from a handler would lose the event when the process dies
between the database commit and the publish (or publish an event for a change that was then
rolled back). The teaching switch TEACH_DISABLE_OUTBOX shows that loss: with it set to 1,
add() publishes straight to the broker right after the commit instead, and an event whose
publish fails (broker down, process killed in between) is gone for good.
"""
import functools
import logging

from sqlalchemy import insert

from shared import tracing
from shared.messaging import contracts
from shared.messaging.envelope import caused_by
from shared.models.base import utcnow
from shared.models.plumbing import outbox
from shared.runtime import config
from shared.runtime.db import after_commit


def add(session, envelope, routing_key=None, owner=None):
    """Queue an event for publishing as part of the session's transaction; its routing key is
    its type unless told another (a command or reply is routed to its one consumer)."""
    contracts.check(envelope)  # never let a producer publish an event that breaks its contract
    # Trade-off 1: the event is a row written by the business transaction itself, so a change
    # and its event commit together or not at all. The price: an extra table, a relay process,
    # and events that leave a little after the commit instead of at once.
    if config.teaching_switch("TEACH_DISABLE_OUTBOX"):
        _publish_after_commit(session, envelope)
        return
    # exercise: transactional-outbox begin
    session.execute(insert(outbox), {  # the row as parameters: Trade-off 46, shared/runtime/db.py
        "message_id": envelope.message_id, "routing_key": routing_key or envelope.type,
        "body": envelope.to_json(), "created_at": utcnow(), "sent_at": None, "owner": owner,
        "headers": tracing.outbox_headers(envelope)})  # tracing: the trace goes with the event
    after_commit(session, _wake_relays)
    # exercise: transactional-outbox end


# --- Waking the relay: a relay in the same process starts a round as soon as an event commits.
_wakers = []


def wake_on_commit(wake):
    """Call `wake()` after each commit that added an event in this process (the relay's hook;
    rows written by other processes are found by the relay's polling)."""
    _wakers.append(wake)


def _wake_relays():
    for wake in _wakers:
        wake()


def emit(session, cause, source, event_type, data):
    """Queue an event caused by the message `cause`, with the current contract version;
    return its envelope."""
    envelope = caused_by(cause, event_type, contracts.CONTRACTS[event_type].version, source, data)
    add(session, envelope)
    return envelope


# --- TEACH_DISABLE_OUTBOX only: what the outbox protects against. Never on by default. ---
log = logging.getLogger(__name__)


def _publish_after_commit(session, envelope):
    after_commit(session, functools.partial(_publish_now, [envelope]))  # not after a rollback


def _publish_now(envelopes):
    from shared.messaging.connection import connect
    from shared.messaging.topology import EXCHANGE, persistent
    try:
        connection = connect(config.amqp_url())
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            for item in envelopes:
                channel.basic_publish(EXCHANGE, item.type, item.to_json(),
                                      properties=persistent(item.type, item.message_id, None))
        finally:
            connection.close()
    except Exception as exc:  # the change is committed, the event is not: it is LOST
        log.error("TEACH_DISABLE_OUTBOX: %d event(s) lost after commit: %r", len(envelopes), exc)
