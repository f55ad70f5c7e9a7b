"""Fault settings a service can be started with: added latency and a failure rate (off by default).

The load and fault scenarios use these to make one dependency slow or flaky while the rest of
the system runs as usual.
"""
import random
import time

from shared import config


class InjectedFault(Exception):
    """A failure made on purpose by the fault settings (a transient error)."""


def inject(service, sleep=time.sleep):
    """Wait the configured latency, then fail at the configured rate."""
    latency_ms = config.fault_latency_ms(service)
    if latency_ms > 0:
        sleep(latency_ms / 1000)
    rate = config.fault_failure_rate(service)
    if rate > 0 and random.random() < rate:
        raise InjectedFault(f"{service}: injected failure (rate {rate})")
