"""The payments service (choreographed): charges once stock is reserved, refunds on failure."""
