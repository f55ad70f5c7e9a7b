"""The errors and warnings the programs logged during a run, read from the runner's log.

A run's figures can look right while some work failed and was tried again later: a recovery
round that raised, a handler whose transaction was refused. The report names them, so that a
reader sees the run did more than its figures say (the bench of 2026-12-07 17:30 found
Trade-off 116's race this way, in the orchestrator's log).
"""
import re
from collections import Counter

# "orchestrator-0  | 2026-12-07 17:35:03,955 ERROR orchestrator-0 corr=- orchestrator.replica:
#  recovery loop: round failed" (runner/logtail.py prefixes each program's lines with its name)
_LINE = re.compile(r"^(?P<program>\S+)\s+\| \d{4}-\d\d-\d\d [\d:,.]+ (?P<level>[A-Z]+) "
                   r"\S+ (?:corr=\S+ )?(?P<message>.*)$")
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
KEYS = (("error", "logged_errors"), ("warning", "logged_warnings"))  # in a run's figures
_KEY_OF_LEVEL = {"ERROR": "logged_errors", "CRITICAL": "logged_errors",
                 "WARNING": "logged_warnings"}


def read(log_path):
    """Return {"logged_errors": {...}, "logged_warnings": {...}} of a runner's log, in one
    pass: each {"<program>: <message>": count} of its ERROR and CRITICAL lines, and of its
    WARNING lines (what a program gave up on, or will try again: the orders API answering
    202 when the orchestrator did not answer in time, a retried message), ids replaced by
    <id> so that the same message counts as one."""
    counted = {key: Counter() for _, key in KEYS}
    try:
        text = log_path.read_text(errors="replace")
    except FileNotFoundError:
        text = ""
    for line in text.splitlines():
        found = _LINE.match(line)
        key = found and _KEY_OF_LEVEL.get(found["level"])
        if key:
            counted[key][f"{found['program']}: {_ID.sub('<id>', found['message'])}"] += 1
    return {key: dict(lines) for key, lines in counted.items()}


def logged_errors(log_path):
    """Return the ERROR and CRITICAL lines of a runner's log, counted by message (read())."""
    return read(log_path)["logged_errors"]


def logged_warnings(log_path):
    """Return the WARNING lines of a runner's log, counted by message (read())."""
    return read(log_path)["logged_warnings"]


def table_lines(run):
    """Return [(level, count, message)] of what a run's figures say its programs logged:
    errors first, each level's most frequent message first (the reports' tables)."""
    return [(level, count, message) for level, key in KEYS
            for message, count in sorted((run.get(key) or {}).items(), key=lambda item: -item[1])]
