"""`make up-both`: both variants and the page, in one terminal; Ctrl-C stops all three.

    python -m watch.both

Each variant is started by its own `python -m runner up <variant>`, exactly as `make up-choreo`
and `make up-orch` would in two terminals (the two use different ports, see the README), then
the page (`python -m watch`). Only the runners' own lines are shown here; every service's log
is in var/<variant>/logs/.
"""
import signal
import subprocess
import sys
import threading

from shared.runtime import config
from watch.__main__ import command

WAIT_UP_S = 240


def start_runner(variant, ready):
    """Start one variant's runner; print its own lines, prefixed; set `ready` once it is up."""
    runner = subprocess.Popen([sys.executable, "-m", "runner", "up", variant],
                              cwd=config.repo_root(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def relay():
        for line in runner.stdout:  # read everything, so the runner never blocks on the pipe
            if line.startswith(("runner:", "  ")):
                print(f"[{variant}] {line.rstrip()}", flush=True)
            if " is up" in line:
                ready.set()
    threading.Thread(target=relay, daemon=True).start()
    return runner


def main():
    """Start both variants and the page; stop everything on Ctrl-C or when one of them ends."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    ready = {variant: threading.Event() for variant in ("choreo", "orch")}
    children = [start_runner(variant, ready[variant]) for variant in ready]
    page = None
    try:
        for event in ready.values():
            while not event.wait(0.5):
                if stop.is_set() or any(child.poll() is not None for child in children):
                    raise SystemExit("watch: a variant did not start; see its lines above")
        page = subprocess.Popen(command(), cwd=config.repo_root(), start_new_session=True)
        children.append(page)
        print(f"watch: both variants are up; open http://{config.watch_host()}:"
              f"{config.watch_port()} (Ctrl-C stops everything)", flush=True)
        while not stop.wait(0.5) and all(child.poll() is None for child in children):
            pass
    finally:
        print("watch: stopping ...", flush=True)
        for child in children:  # each runner stops its own programs and broker on SIGTERM
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=40)
            except subprocess.TimeoutExpired:
                child.kill()
        print("watch: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
