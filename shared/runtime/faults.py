"""Fault settings a service can be started with: added latency and a failure rate (off by default).

The load and fault scenarios use these to make one dependency slow or flaky while the rest of
the system runs as usual.
"""
import random
import time

from shared.runtime import config


class InjectedFault(Exception):
    """A failure made on purpose by the fault settings (a transient error)."""


def injected(service):
    """Return True when a latency or a failure rate is injected into `service`'s work."""
    return config.fault_latency_ms(service) > 0 or config.fault_failure_rate(service) > 0


def inject(service, sleep=time.sleep):
    """Wait the configured latency, then fail at the configured rate."""
    latency_ms = config.fault_latency_ms(service)
    if latency_ms > 0:
        sleep(latency_ms / 1000)
    rate = config.fault_failure_rate(service)
    if rate > 0 and random.random() < rate:
        raise InjectedFault(f"{service}: injected failure (rate {rate})")


# --- Fault points: named places in the code where a test can make this process crash or stall. ---
# A test arms one with an environment variable before it starts the process:
#   FAULT_CRASH_AT=relay.after_confirm       exit at once (no cleanup, like a kill -9) the first
#   FAULT_CRASH_AT=relay.after_confirm:3     time, or the third time, the point is reached;
#   FAULT_STALL_AT=saga.step_in_flight:12000 sleep that many ms there, once, then go on.
# Unarmed (the default), each point costs one dictionary look-up.
CRASH_EXIT_CODE = 86
_hits = {}


def _armed(variable, name):
    """Return the text after `name:` (or "" for a bare name) when `variable` arms this point."""
    for entry in config._env(variable, "").split(","):
        point, _, argument = entry.strip().partition(":")
        if point == name:
            return argument
    return None


def crash_point(name):
    """Exit the process here, without unwinding, when FAULT_CRASH_AT arms `name`."""
    argument = _armed("FAULT_CRASH_AT", name)
    if argument is None:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == int(argument or 1):
        import logging
        import os
        logging.getLogger(__name__).error("fault point %s: crashing on purpose", name)
        logging.shutdown()
        os._exit(CRASH_EXIT_CODE)


def stall_point(name, sleep=time.sleep):
    """Sleep here once for the armed number of milliseconds when FAULT_STALL_AT arms `name`."""
    argument = _armed("FAULT_STALL_AT", name)
    if argument is None or _hits.get(name):
        return
    _hits[name] = 1
    sleep(int(argument or 0) / 1000)
