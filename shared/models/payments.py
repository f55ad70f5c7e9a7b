"""The payments service's database: one payment per order, and its refund if any."""
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

from shared.models.base import UTCDateTime

metadata = MetaData()

# status: captured, refunded, or declined.
payments = Table(
    "payments", metadata,
    Column("payment_id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False, unique=True),
    Column("customer_id", String(64), nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("decline_reason", String(40), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

refunds = Table(
    "refunds", metadata,
    Column("refund_id", String(36), primary_key=True),
    Column("payment_id", String(36), ForeignKey("payments.payment_id"), nullable=False,
           unique=True),
    Column("amount_cents", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
