"""Before the swarm: does the variant answer? A load test against nothing must say so and stop.

Without this check Locust starts its users against a closed port and they spin: thousands of
failed requests a second, each reported as a status 0, the load generator at full CPU, for the
whole run. One GET /health with a short timeout before the first user is cheaper, and its
answer can name the fix: the `make` command that starts the variant behind that port.

Mid-run, a request that got no HTTP answer is named by what happened to it (`describe`), and
the user backs off (`Backoff`) instead of asking again at once.
"""
from urllib.parse import urlsplit

import requests

from shared.runtime.config import DEFAULT_PORTS

TIMEOUT_S = 2.0
# Which `make` target starts the variant whose orders API listens on a port (the defaults).
STARTS = {ports["orders"]: f"make up-{style}" for style, ports in DEFAULT_PORTS.items()}


def start_command(host, variant="auto"):
    """Return the command that starts the variant behind `host`: the one named (--variant),
    else the one whose default port it is, else both (a moved port: only the user knows)."""
    if variant in DEFAULT_PORTS:
        return f"make up-{variant}"
    return STARTS.get(urlsplit(host).port, " or ".join(sorted(STARTS.values())))


def problem(host, variant="auto", timeout=TIMEOUT_S):
    """Return one line saying why `host` cannot be load-tested, or None when it answers."""
    if not host:
        return "no host: give --host (the orders API, e.g. http://127.0.0.1:8001)"
    url = f"{host.rstrip('/')}/health"
    try:
        answer = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        return (f"{url} does not answer ({describe(exc)}); "
                f"start the variant: {start_command(host, variant)}")
    if answer.status_code != 200:
        return (f"{url} answered {answer.status_code}, not 200: the variant is not healthy; "
                f"see its log (started with {start_command(host, variant)})")
    return None


def describe(error):
    """Return what a request that got no HTTP answer ran into, in words."""
    text = f"{type(error).__name__} {error}".lower()
    for words, said in (("refused", "connection refused"), ("timed out", "timed out"),
                        ("timeout", "timed out"), ("reset", "connection reset"),
                        ("name or service", "unknown host"), ("resolve", "unknown host")):
        if words in text:
            return said
    return type(error).__name__


class Backoff:
    """A pause that doubles after each failure to connect (from FIRST_S to MAX_S) and starts
    over after a success: a user facing a dead host asks a few times a second, not thousands."""

    FIRST_S, MAX_S = 0.25, 4.0

    def __init__(self):
        self.pause = 0.0

    def failed(self):
        """Return how long to pause after another failure."""
        self.pause = min(max(self.pause * 2, self.FIRST_S), self.MAX_S)
        return self.pause

    def succeeded(self):
        self.pause = 0.0
