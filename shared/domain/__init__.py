"""The business both styles agree on: the catalog (catalog.py), the rules (rules.py), and each
service's operations on its own database, called by both variants.

Every operation is idempotent per order: doing it twice has the effect of doing it once, and
returns the first answer. That is the domain's half of "nothing doubled"; the transports add
message-id and idempotency-key checks on top.
"""
