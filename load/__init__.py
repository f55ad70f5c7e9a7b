"""Load tests and the side-by-side trade-off report of the variants (issues 4 and 25).

    python -m load demo            (what `make demo` runs: every scenario, every variant, a report)
    python -m load bench           (what `make bench` runs: the drain benchmark, load/bench.py)
    python -m load floor           (what `make bench-floor` runs: the bare transports' round trips)
    locust -f load/locustfile.py --host http://127.0.0.1:8001    (`make load-choreo`)

The variants are choreo, orch and orch-amqp (load/variant.py). See docs/load.md for the
scenarios, what is measured and how to read the report.
"""
