"""The notifications service (orchestrated): the service "added later".

Unlike its choreographed twin, adding it took a change outside this folder: two steps in the
orchestrator's saga definition (orchestrator/saga.py) call it.
"""
