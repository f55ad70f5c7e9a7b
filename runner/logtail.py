"""Show every program's log lines on the terminal, each prefixed with the program's name."""
import sys
import threading
import time
from pathlib import Path


def follow(folder, stop, out=sys.stdout, every=0.2):
    """Print new lines of every *.log file in `folder` until `stop` is set (in a thread)."""
    def loop():
        offsets, width = {}, 22
        while not stop.is_set():
            for path in sorted(Path(folder).glob("*.log")):
                name = path.stem.removesuffix("-0")
                with open(path, "rb") as handle:
                    handle.seek(offsets.get(path, 0))
                    data = handle.read()
                complete = data.rfind(b"\n") + 1
                offsets[path] = offsets.get(path, 0) + complete
                for line in data[:complete].decode("utf-8", "replace").splitlines():
                    out.write(f"{name:<{width}}| {line}\n")
            out.flush()
            time.sleep(every)

    thread = threading.Thread(target=loop, name="logtail", daemon=True)
    thread.start()
    return thread
