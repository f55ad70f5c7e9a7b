"""Wait until every HTTP service of a variant answers GET /health with 200."""
import time

import requests


def wait_healthy(urls, timeout=120, alive=lambda: True):
    """Poll each URL's /health until all answer 200; raise on timeout or when alive() fails."""
    pending = set(urls)
    deadline = time.monotonic() + timeout
    with requests.Session() as session:
        while pending:
            for url in sorted(pending):
                try:
                    if session.get(f"{url}/health", timeout=2).status_code == 200:
                        pending.discard(url)
                except requests.RequestException:
                    pass
            if not alive():
                raise RuntimeError("the supervisor stopped while services were starting")
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout}s: {', '.join(sorted(pending))}")
            time.sleep(0.3)
