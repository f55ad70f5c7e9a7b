"""The fault catalogue: every fault scenario under load, against a running variant, followed by
the invariant audit (`make chaos`, `python -m chaos`). See docs/faults.md.

- system.py: start a variant through the runner on moved ports, and reach into it (kill -9,
  restart with fault settings, restart the broker).
- load.py: a small bounded load generator.
- broker_faults.py: duplicated events and poison messages, published straight to the broker.
- scenarios.py: the catalogue itself, one short function per fault.
- measure.py: one row of the results table; report.py writes reports/chaos-<time>/results.md.
- fuzz.py: generated bad requests against the public API (`make fuzz`).
"""
