"""Repeated runs: pick the median run, show a figure's spread, and compare two figures honestly.

A difference between two variants is only a finding when it is larger than the spread of
the runs: when the lowest run of one is above the highest run of the other. With one run
there is no spread to compare, and a verdict says so ("one run").
"""
import statistics

ONE_RUN, WITHIN_NOISE, HIGHER, LOWER = "one run", "within noise", "higher", "lower"


def values(summary, key):
    """Return a figure of every repeat of a run (one value when it ran once)."""
    return [r[key] for r in summary.get("repeats") or [summary] if r.get(key) is not None]


def median(summary, key):
    """Return the median of a figure over the repeats (the value of one run), as `text` shows
    it: a ratio of two figures is taken between what the reader sees."""
    return statistics.median(values(summary, key))


def median_run(summaries, key="finished_per_s"):
    """Return the index of the run whose `key` is the median (the lower middle of an even count)."""
    ranked = sorted(range(len(summaries)), key=lambda i: summaries[i][key] or 0.0)
    return ranked[(len(ranked) - 1) // 2]


def text(summary, key, digits=1):
    """Return `median (lowest-highest)` of a figure over the repeats, or the value of one run."""
    found = values(summary, key)
    if not found:
        return "-"
    median = f"{statistics.median(found):.{digits}f}"
    if len(found) == 1:
        return median
    return f"{median} ({min(found):.{digits}f}-{max(found):.{digits}f})"


def compare(first, second):
    """Return HIGHER or LOWER when every run of `first` is above or below every run of
    `second`, WITHIN_NOISE when their ranges overlap, ONE_RUN when either ran once."""
    if len(first) < 2 or len(second) < 2:
        return ONE_RUN
    if min(first) > max(second):
        return HIGHER
    if max(first) < min(second):
        return LOWER
    return WITHIN_NOISE
