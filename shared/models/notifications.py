"""The notifications service's database: at most one outcome notification per order."""
from sqlalchemy import Column, MetaData, String, Table

from shared.models.base import UTCDateTime

metadata = MetaData()

notifications = Table(
    "notifications", metadata,
    Column("notification_id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False, unique=True),
    Column("customer_id", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(40), nullable=True),
    Column("sent_at", UTCDateTime, nullable=False),
)
