"""The notifications service (choreographed): the service "added later".

It subscribes to the outcome events the orders service already published. No other
service was changed to add it: nothing outside this folder names it.
"""
