"""The vocabulary of a saga definition (Call, Step, Retry, Saga) and the plan a saga follows.

Plumbing for saga.py, which is the lesson. A saga row holds a state and a cursor: RUNNING
walks the forward steps; COMPENSATING walks the compensations of the steps that succeeded,
in reverse, then the cancellation steps.
"""
from dataclasses import dataclass, field
from typing import Callable

RUNNING, COMPENSATING, COMPLETED, CANCELLED = "RUNNING", "COMPENSATING", "COMPLETED", "CANCELLED"
UNFINISHED, FINAL = (RUNNING, COMPENSATING), (COMPLETED, CANCELLED)
DO, UNDO = "do", "undo"


def order_only(state):
    """Return the smallest payload: the order id (for compensations named in the URL)."""
    return {"order_id": state["order_id"]}


@dataclass(frozen=True)
class Retry:
    """How one call is retried on transient failures; None means the configured default."""
    attempts: int | None = None
    timeout_ms: int | None = None
    backoff_ms: int | None = None


@dataclass(frozen=True)
class Call:
    """One HTTP command: `path` may name saga fields, `payload` builds the body from saga state."""
    name: str
    method: str
    path: str
    payload: Callable = order_only

    def request(self, state):
        """Return (method, path, body) for this saga state."""
        return self.method, self.path.format(**state), self.payload(state)


@dataclass(frozen=True)
class Step:
    """A forward step: its call, its compensation, and what its answer adds to the saga state."""
    service: str
    action: Call
    compensation: Call | None = None
    on_success: Callable = lambda answer: {}
    may_reject: bool = False        # a 409 here is a business refusal: compensate and cancel
    retry: Retry = field(default_factory=Retry)

    @property
    def name(self):
        """Return the step's name (its action's)."""
        return self.action.name


@dataclass(frozen=True)
class Saga:
    """Forward steps, and the steps that end a cancelled saga after its compensations."""
    steps: tuple
    on_cancel: tuple

    def plan(self, state, failed_step=None):
        """Return the (step, call, do|undo) entries a saga in `state` walks with its cursor."""
        if state == RUNNING:
            return [(s, s.action, DO) for s in self.steps]
        undo = [(s, s.compensation, UNDO) for s in reversed(self.steps[:failed_step])
                if s.compensation]
        return undo + [(s, s.action, DO) for s in self.on_cancel]
