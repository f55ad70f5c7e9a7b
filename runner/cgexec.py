"""Run a command inside a cgroup: `python -m runner.cgexec <group folder>... -- <command...>`.

The wrapper writes its own pid to each group's cgroup.procs (one folder per cgroup v1
hierarchy, cpu and cpuacct; one under v2), then replaces itself with the command (exec), so
the command and every child it starts (gunicorn's workers, beam.smp, the postmaster and its
backends, Locust) run in the group: a child inherits its parent's cgroup.
"""
import os
import sys
from pathlib import Path

USAGE = "usage: python -m runner.cgexec <group folder>... -- <command...>"


def join(folders, pid=None):
    """Move process `pid` (this one by default) into every group folder."""
    for folder in folders:
        (Path(folder) / "cgroup.procs").write_text(str(pid or os.getpid()))


def main(argv=None):
    """Join the groups named before `--`, then exec the command after it."""
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv or argv.index("--") in (0, len(argv) - 1):
        raise SystemExit(USAGE)
    split = argv.index("--")
    try:
        join(argv[:split])
    except OSError as error:
        raise SystemExit(f"cgexec: cannot join {error.filename}: {error.strerror}") from None
    os.execvp(argv[split + 1], argv[split + 1:])


if __name__ == "__main__":
    main()
