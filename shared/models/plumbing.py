"""Tables every service database carries for reliable messaging and idempotent calls.

- outbox: events written in the same transaction as the state change that caused them, with
  the W3C trace context of the span that wrote them (`headers`, JSON; see shared/tracing/), and
  `owner`: who hands an orchestrated order over (see orders-orch/orders/handover.py; unused in choreo).
- processed_messages: ids of messages a consumer has applied (same transaction as the effect).
- idempotency_keys: answers already given to a keyed HTTP request, replayed on a retry.
- heartbeats: when each worker last proved it was alive and subscribed (read by /health).
"""
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text

from shared.models.base import UTCDateTime

metadata = MetaData()

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("routing_key", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True, index=True),
    Column("headers", Text, nullable=True),  # tracing: the trace the event belongs to
    Column("owner", String(16), nullable=True),
)

processed_messages = Table(
    "processed_messages", metadata,
    Column("consumer", String(64), primary_key=True),
    Column("message_id", String(64), primary_key=True),
    Column("processed_at", UTCDateTime, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

heartbeats = Table(
    "heartbeats", metadata,
    Column("worker", String(100), primary_key=True),
    Column("beat_at", UTCDateTime, nullable=False),
)
