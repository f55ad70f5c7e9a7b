"""Operator tools: programs and helpers that look at a running system, or at the code, from
outside. No service runs any of them.

- deadletters.py: list and replay dead letters (`make dead-letters`, `make replay-dead-letters`);
- traces.py: print one order's trace as a waterfall (`make trace`);
- queues.py: the variants' queue depths, read from the broker (the audit, the load harness);
- sizes.py: each style's size, counted from the imports (`make sizes`).

The audit, the load generator, the chaos tools and the scripts may import from here; the lesson
code (shared/, orders-choreo/, orders-orch/) may not, since a service must never depend on the
tools that watch it (tests/static/test_imports.py checks both directions).
"""
