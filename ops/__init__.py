"""Operator tools: programs and helpers that look at a running system from outside.

The audit, the load generator, the chaos tools and the scripts may import from here; the lesson
code (shared/, orders-choreo/, orders-orch/) may not, since a service must never depend on the
tools that watch it (tests/static/test_imports.py checks both directions).
"""
