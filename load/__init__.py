"""Load tests and the side-by-side trade-off report of the two variants (issue 4).

    python -m load demo            (what `make demo` runs: every scenario, both variants, a report)
    python -m load floor           (what `make bench-floor` runs: the bare transports' round trips)
    locust -f load/locustfile.py --host http://127.0.0.1:8001    (`make load-choreo`)

See docs/load.md for the scenarios, what is measured and how to read the report.
"""
