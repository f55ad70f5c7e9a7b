"""The scenarios of `make demo` that run against an already started variant, as Locust shapes a
user picks in the web UI (`--class-picker`, which `make load-choreo` / `make load-orch` pass).

- SteadyRamp: users from 1 to the ramp's top over 80% of the run, closed loop (the steady
  scenario: where does the variant saturate?);
- Outage: 16 users ordering every 4 s (open loop), and payments stopped from 10 s to 30 s of
  the run, as `make demo` does: through the runner's supervisord (the native runner's
  `python -m runner stop-service`), so it needs a variant started by `make up-choreo` or
  `make up-orch`; the Sagas tab says when payments stopped and started, or why it could not.

The other scenarios need the variant started differently, so no shape can play them:
slow-dependency (`PAYMENTS_FAULT_LATENCY_MS=200 make up-orch`), scale-out (`make up-orch
REPLICAS=2`), budgets (`BUDGET=on make up-orch`). LOAD_SHAPE_SCALE multiplies every length
(0.25: a 40 s scenario in 10 s).
"""
import os

import gevent
from locust import LoadTestShape, events

from load import scenarios, target
from load.sagas_tab import BOARD
from runner import supervisor
from shared.runtime import config

SCALE = float(os.environ.get("LOAD_SHAPE_SCALE", "1") or 1)
STEADY = scenarios.scaled(next(s for s in scenarios.SCENARIOS if s.name == "steady"), SCALE)
OUTAGE = scenarios.scaled(next(s for s in scenarios.SCENARIOS if s.name == "outage"), SCALE)


class SteadyRamp(LoadTestShape):
    """The steady scenario: a closed-loop ramp to STEADY.users over 80% of STEADY.seconds."""

    scenario = STEADY

    def tick(self):
        users = self.scenario.users_at(self.get_run_time())
        if users is None:
            return None
        self.runner.environment.parsed_options.pacing = self.scenario.pacing  # closed loop
        return users, max(self.scenario.spawn_rate(), 1.0)


class Outage(LoadTestShape):
    """The outage scenario: an open loop of OUTAGE.users every OUTAGE.pacing seconds, payments
    stopped while OUTAGE.payments_down(t)."""

    scenario = OUTAGE

    def reset_time(self):
        super().reset_time()
        self.down = False

    def tick(self):
        t = self.get_run_time()
        users = self.scenario.users_at(t)
        self._payments(self.scenario.payments_down(t) if users is not None else False, t)
        if users is None:
            return None
        self.runner.environment.parsed_options.pacing = self.scenario.pacing  # open loop
        return users, self.scenario.spawn_rate()

    def _payments(self, down, t):
        """Stop or start payments when the scenario says so (a run stopped early heals too)."""
        if down != getattr(self, "down", False):
            self.down = down
            gevent.spawn(control, self.runner.environment, "stop" if down else "start", t)

@events.test_stop.add_listener
def heal(environment, **_):
    """STOP during the outage (the shape is stopped with the users): start payments again."""
    shape = environment.shape_class
    if isinstance(shape, Outage) and getattr(shape, "down", False):
        shape.down = False
        gevent.spawn(control, environment, "start", shape.get_run_time())


def control(environment, action, at):
    """Stop or start the variant's payments program through the runner's supervisord; say so,
    or why it could not, on the Sagas tab."""
    found = target.services(environment.host, environment.parsed_options.variant)
    style = found[0] if found else config.variant()
    program = scenarios.PAYMENTS_PROGRAM[style]
    try:
        api = supervisor.rpc(config.var_dir() / style).supervisor
        getattr(api, f"{action}ProcessGroup")(program)
        BOARD.note("outage", f"{action} {program} at {at:.1f} s (the runner's supervisord)")
    except Exception as exc:  # any failure of the XML-RPC call: the UI must say it
        BOARD.note("outage", f"could not {action} {program}: {exc}. The outage needs the native "
                   f"runner (make up-{style}); in containers, stop payments by hand")
