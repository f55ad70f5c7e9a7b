"""The inventory service (orchestrated): reserves, releases and commits stock when told to."""
