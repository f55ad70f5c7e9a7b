"""`python -m watch` (`make watch`): serve the page on WATCH_HOST:WATCH_PORT (127.0.0.1:8080).

It watches variants that already run (`make up-choreo`, `make up-orch`); `make up-both` starts
both and this page together (watch/both.py).
"""
import os
import sys

from shared.runtime import config


def command():
    """Return the gunicorn command line that serves the page."""
    return [sys.executable, "-m", "gunicorn", "--bind", f"{config.watch_host()}:{config.watch_port()}",
            # Threads, not processes: the page's numbers and its count of 429s live in memory.
            "--workers", "1", "--threads", "16", "--worker-class", "gthread",
            "--timeout", "60", "--graceful-timeout", "2", "--no-control-socket",
            "--access-logfile", "-" if os.environ.get("WATCH_ACCESS_LOG") else "/dev/null",
            "watch.app:create_app()"]


def main():
    """Replace this process with gunicorn serving the page."""
    print(f"watch: the page is at http://{config.watch_host()}:{config.watch_port()}", flush=True)
    argv = command()
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
