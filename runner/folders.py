"""Data folders for servers that run as their own system user (rabbitmq, postgres).

Such a server must be able to reach its folder. A checkout inside a private folder (mode 700,
as `mktemp -d` makes) is not reachable by another user, so the data then goes to a folder of
its own under the system's temp dir, named after the folder it stands in for.
"""
import hashlib
import os
import stat
import tempfile
from pathlib import Path


def reachable(folder):
    """Return `folder`, or a stand-in under the temp dir when other users cannot reach it."""
    folder = Path(folder).resolve()
    if os.geteuid() != 0 or all(_others_may_enter(p) for p in folder.parents if p.exists()):
        return folder
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"orders-{folder.name}-{digest}"


def _others_may_enter(path):
    return bool(path.stat().st_mode & stat.S_IXOTH)
