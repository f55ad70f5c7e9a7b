"""The orders service's database: orders, and the timeline of each order's saga."""
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table

from shared.models.base import UTCDateTime

metadata = MetaData()

orders = Table(
    "orders", metadata,
    Column("order_id", String(36), primary_key=True),
    Column("status", String(16), nullable=False, index=True),
    Column("reason", String(40), nullable=True),
    Column("customer_id", String(64), nullable=False),
    Column("items", JSON, nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("card_token", String(64), nullable=False),
    Column("shipping_address", JSON, nullable=False),
    Column("idempotency_key", String(200), nullable=True, unique=True),
    Column("request_hash", String(64), nullable=True),
    Column("correlation_id", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One row per event or saga step seen for an order (the choreographed variant's tracker
# writes it; the orchestrated variant reads its timeline from the orchestrator's saga log).
timeline = Table(
    "timeline", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(36), nullable=False, index=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("at", UTCDateTime, nullable=False),
    Column("service", String(40), nullable=False),
    Column("name", String(60), nullable=False),
    Column("outcome", String(60), nullable=False),
    Column("correlation_id", String(64), nullable=False),
)
