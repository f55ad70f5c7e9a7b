"""SQLAlchemy models: one module per service's own database, plus the plumbing tables."""
