"""The inventory service's database: stock levels and one reservation record per order."""
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, CheckConstraint

from shared.models.base import UTCDateTime

metadata = MetaData()

stock = Table(
    "stock", metadata,
    Column("sku", String(40), primary_key=True),
    Column("initial", Integer, nullable=False),
    Column("available", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("committed", Integer, nullable=False),
    CheckConstraint("available >= 0 AND reserved >= 0 AND committed >= 0", name="never_negative"),
)

# status: held (reserved for an unfinished order), committed, released, or rejected.
reservations = Table(
    "reservations", metadata,
    Column("order_id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
