"""The shipping service (orchestrated): books and cancels shipments when told to."""
