"""The orchestrator (orchestrated variant only): drives each order's saga by calling the services.

The one folder without a twin in orders-choreo/: in choreography no process holds the saga.
Start with saga.py (the definition), then driver.py (how it is run) and replica.py (how
replicas share the work: shards, leases, recovery, the in-flight bound); with
ORCH_TRANSPORT=amqp, messaging_driver.py and messaging_replica.py run the same saga by messages.
"""
