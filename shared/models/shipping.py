"""The shipping service's database: one shipment per order that could be shipped."""
from sqlalchemy import Column, MetaData, String, Table

from shared.models.base import UTCDateTime

metadata = MetaData()

# status: booked or cancelled.
shipments = Table(
    "shipments", metadata,
    Column("shipment_id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False, unique=True),
    Column("country", String(2), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
