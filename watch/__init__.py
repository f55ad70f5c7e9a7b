"""A page to watch the two styles side by side (`make up-both`, then http://127.0.0.1:8080).

Place the same order in both variants, see each saga drawn as it happens, see what each style
holds when a service stops (messages in a queue, or sagas waiting for recovery), and break a
service from the page with the runner's own commands. Not part of either variant: it only
reads their public and inspection APIs, and drives the runner like a person would.
"""
