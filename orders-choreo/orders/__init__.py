"""The orders service (choreographed): takes orders, and settles them from the events it hears."""
