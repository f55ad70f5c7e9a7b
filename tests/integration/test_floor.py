"""The floor (`make bench-floor`, load/floor.py) against a real broker and a real gunicorn:
each transport's time, and what both ends of one round trip cost in CPU."""
from load import floor

ROUND_TRIPS = 100


def test_the_floor_times_each_transport_and_counts_the_cpu_of_both_ends(amqp_url):
    numbers = floor.measure(amqp_url, count=ROUND_TRIPS)
    for transport in ("amqp", "http"):
        measured = numbers[transport]
        assert measured["count"] == ROUND_TRIPS
        assert 0 < measured["p50_ms"] <= measured["p99_ms"]
        # the far end (the broker, the gunicorn server) works for every round trip too
        assert 0 < measured["client_cpu_ms"] < measured["cpu_ms"], (transport, measured)
