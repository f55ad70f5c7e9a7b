"""The inventory service (choreographed): reserves stock when an order is placed."""
