"""Drive one saga: call its next step, record the answer, and move on, until it is final.

The state machine is next_state(): a success moves the cursor on; a business refusal turns a
RUNNING saga to COMPENSATING (its plan becomes the compensations, in reverse, then the
cancellation steps); a transient failure that outlived its retries leaves the saga where it
is, with a time for the recovery loop to try again.
"""
import logging
import random
from datetime import timedelta

from shared.models.base import utcnow
from shared.runtime import faults
from shared.runtime.logs import set_correlation_id
from orchestrator import saga as definition
from orchestrator import store, traces
from orchestrator.policy import REJECTED, SUCCEEDED
from orchestrator.steps import CANCELLED, COMPENSATING, COMPLETED, DO, RUNNING, UNFINISHED

log = logging.getLogger(__name__)
RECOVERY_BACKOFF_MAX_S = 30


class Driver:
    """Runs sagas of one replica; `send(step, call, kind, state, correlation_id)` makes a call."""

    def __init__(self, session_factory, leases, send, saga=None):
        self.session_factory, self.leases = session_factory, leases
        self.send = traces.traced(send)  # tracing: a span per step and compensation
        self.saga = saga or definition.saga()

    def drive(self, saga_id):
        """Run the saga's remaining steps until it is final or must wait; return the saga."""
        saga = store.load(self.session_factory, saga_id)
        set_correlation_id(saga["correlation_id"])
        with traces.saga_span(saga) as span:  # tracing: continues the order's trace
            return traces.finished(span, self._steps(saga))

    def _steps(self, saga):
        """Call steps until the saga is final or must wait for recovery; return the saga."""
        token = self.leases.token(saga["shard"])  # every write below is fenced with it
        recorded = False  # is the current step's "started" line already committed?
        while saga["state"] in UNFINISHED:
            plan = self.saga.plan(saga["state"], saga["failed_step"])
            step, call, kind = plan[saga["cursor"]]
            if not recorded:
                store.record(self.session_factory, saga, token, step.service, call.name,
                             "started")
            faults.crash_point("saga.before_call")  # a test's crash: step recorded, not called
            answer = self.send(step, call, kind, state_of(saga), saga["correlation_id"])
            faults.crash_point("saga.after_call")  # a test's crash: answered, not recorded
            faults.stall_point("saga.after_call")  # a test's stall (shared/runtime/faults.py)
            changes, lines = next_state(saga, plan, answer, utcnow())
            log.info("saga %s: %s", saga["saga_id"], "; ".join(f"{s}: {o}" for _, s, o in lines))
            waits = "next_attempt_at" in changes
            following = None if waits else self._following(saga, changes)
            if following:  # the next step is recorded as started in this same write
                lines = lines + [(*following, "started")]
            saga = store.advance(self.session_factory, saga, token, changes, lines)
            recorded = following is not None
            if waits:
                break  # left for the recovery loop
        return saga

    def _following(self, saga, changes):
        """Return (service, call name) of the step after these changes, or None when final."""
        after = {**saga, **changes}
        if after["state"] not in UNFINISHED:
            return None
        step, call, _ = self.saga.plan(after["state"], after["failed_step"])[after["cursor"]]
        return step.service, call.name


def state_of(saga):
    """Return what payload builders may read: the order, the fields answers added, the reason."""
    return {**saga["data"], "saga_id": saga["saga_id"], "reason": saga["reason"]}


def next_state(saga, plan, answer, now):
    """Return (column changes, log lines) after one step's answer: the saga's state machine."""
    step, call, kind = plan[saga["cursor"]]
    if answer.kind == SUCCEEDED:
        return _succeeded(saga, plan, step, call, kind, answer, now)
    if answer.kind == REJECTED and step.may_reject and saga["state"] == RUNNING:
        return _rejected(saga, step, call, answer.code or "rejected")
    return _left_for_recovery(saga, step, call, answer, now)


def _succeeded(saga, plan, step, call, kind, answer, now):
    added = step.on_success(answer.body) if kind == DO else {}
    changes = {"cursor": saga["cursor"] + 1, "data": {**saga["data"], **added},
               "retries": 0, "last_error": None}
    lines = [(step.service, call.name, "succeeded")]
    if changes["cursor"] == len(plan):
        final = COMPLETED if saga["state"] == RUNNING else CANCELLED
        changes.update(state=final, finished_at=now)
        outcome = "completed" if final == COMPLETED else f"cancelled: {saga['reason']}"
        lines.append(("orchestrator", "saga", outcome))
    return changes, lines


def _rejected(saga, step, call, reason):
    changes = {"state": COMPENSATING, "failed_step": saga["cursor"], "cursor": 0,
               "reason": reason, "retries": 0, "last_error": None}
    return changes, [(step.service, call.name, f"rejected: {reason}"),
                     ("orchestrator", "saga", f"compensating: {reason}")]


def _left_for_recovery(saga, step, call, answer, now):
    retries = saga["retries"] + 1
    error = answer.error or f"HTTP {answer.status} {answer.code}"
    delay = min(RECOVERY_BACKOFF_MAX_S, 2 ** retries) * random.uniform(0.5, 1.0)
    changes = {"retries": retries, "next_attempt_at": now + timedelta(seconds=delay),
               "last_error": error[:300]}
    return changes, [(step.service, call.name, f"failed, left for recovery: {error}")]
