"""The shipping service (choreographed): books a shipment once the order is paid."""
