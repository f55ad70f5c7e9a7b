"""A second locustfile holding only the Outage shape of load/shapes.py: Locust headless runs the
first shape it finds, so this file makes that the outage (tests/load/test_locust.py)."""
from load.shapes import Outage  # noqa: F401 (Locust finds the shape among this module's names)
