"""Exit 0 when HEALTHCHECK_URL answers 200 (the Dockerfile's HEALTHCHECK); 1 otherwise.

Plumbing for docker-compose.yml. An API container points it at its own GET /health; a
choreographed worker at its service's API, whose /health is 200 only while the worker's
heartbeat is fresh (shared/http/web.py); a Locust container at its web UI. A container that sets
none is unhealthy, and says why: a check that cannot fail would hide a missing setting.
"""
import os
import sys
import urllib.request


def main():
    """Return the exit code of one health probe."""
    url = os.environ.get("HEALTHCHECK_URL")
    if not url:
        print("HEALTHCHECK_URL is not set: nothing to check", file=sys.stderr)
        return 1
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
