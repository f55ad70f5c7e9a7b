"""The orders service (orchestrated): takes orders, hands each to the orchestrator, and records
the outcome the orchestrator tells it."""
