"""The invariant audit: check docs/domain.md's invariants from outside, through the inspection API only.

    python -m audit --variant choreo      (what `make audit VARIANT=choreo` runs)
"""
