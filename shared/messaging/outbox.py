"""The transactional outbox: an event is written in the same transaction as the change that
caused it, so either both happen or neither does. The relay publishes it afterwards.

Publishing straight to the broker from a handler would lose the event when the process dies
between the database commit and the publish (or publish an event for a change that was then
rolled back). The teaching switch TEACH_DISABLE_OUTBOX shows that loss.
"""
from sqlalchemy import insert

from shared import contracts
from shared.envelope import caused_by
from shared.models.base import utcnow
from shared.models.plumbing import outbox


def add(session, envelope):
    """Queue an event for publishing as part of the session's transaction."""
    contracts.check(envelope)  # never let a producer publish an event that breaks its contract
    session.execute(insert(outbox).values(
        message_id=envelope.message_id, routing_key=envelope.type, body=envelope.to_json(),
        created_at=utcnow(), sent_at=None))


def emit(session, cause, source, event_type, data):
    """Queue an event caused by the message `cause`, with the current contract version."""
    add(session, caused_by(cause, event_type, contracts.CONTRACTS[event_type].version, source,
                           data))
