"""The payments service (orchestrated): charges and refunds when told to."""
