"""Wait until every HTTP service of a variant answers GET /health with 200."""
import socket
import time

import requests

CLOSE = {"Connection": "close"}  # a probe, not a client: it keeps no connection open


def wait_healthy(urls, timeout=120, alive=lambda: True):
    """Poll each URL's /health until all answer 200; raise on timeout or when alive() fails.

    Each probe asks the program to close its connection afterwards. A connection the prober
    keeps (requests can strand one outside its session's pool after a failed probe) stays
    open in the program's gunicorn worker, which at stop waits for it for its whole graceful
    timeout: past supervisord's stop limit, and the program is SIGKILLed."""
    pending = set(urls)
    deadline = time.monotonic() + timeout
    with requests.Session() as session:
        while pending:
            for url in sorted(pending):
                try:
                    if session.get(f"{url}/health", timeout=2, headers=CLOSE).status_code == 200:
                        pending.discard(url)
                except requests.RequestException:
                    pass
            if not alive():
                raise RuntimeError("the supervisor stopped while services were starting")
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout}s: {', '.join(sorted(pending))}")
            time.sleep(0.3)


def port_free(port):
    """Return True if nothing listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
