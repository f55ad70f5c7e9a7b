"""The order domain both variants share: catalog, rules, models, contracts and plumbing.

Nothing in here imports from `orders-choreo/` or `orders-orch/`: the variants depend on
this package, never the other way round.
"""
