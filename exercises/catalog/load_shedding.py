"""Exercise load-shedding: above its in-flight bound the orchestrator says 429 at once."""
from exercises.catalog import Check, Exercise, Region, WrongFix

UNBOUNDED = '''\
with self.lock:
    if saga_id in self.active:
        return self.active[saga_id]
    future = self.active[saga_id] = Future()
try:
    if before:
        before()
except BaseException:
    self._forget(saga_id)
    raise
self._launch(saga_id, future)  # a full pool queues it: the client waits, and waits
return future
'''

EXERCISE = Exercise(
    name="load-shedding",
    title="Load shedding: a bounded number of sagas in flight (orchestration)",
    lesson="A replica that takes every saga it is offered queues work it cannot finish in "
           "anyone's time budget; refusing at once (429 with Retry-After) above a bound, before "
           "anything is stored, keeps the sagas it did accept fast and leaves nothing behind "
           "for the refused ones.",
    teaches="C8 and C9 (regulation of load) and Trade-off 11 (a bounded number of sagas in "
            "flight)",
    read_first=("orders-orch/orchestrator/replica.py (drive)",
                "orders-orch/orchestrator/api.py (start_saga: what None means)",
                "docs/reliability.md (Orchestration)"),
    todo="refuse (return None) when this replica already drives max_in_flight sagas, before "
         "the saga is stored and under the lock.",
    hint="The check belongs inside `with self.lock:`, next to the check of self.active, and "
         "before `before()` runs: `before` stores the saga, and a stored saga is driven by the "
         "recovery loop later, so it was not shed at all.",
    seen="tests/integration/test_orchestrator_load_shedding.py: of 8 orders at once against a "
         "bound of 2, some get 429 with Retry-After and code overloaded; the accepted ones "
         "finish with every invariant; a shed order left no order, saga, call or row anywhere.",
    regions=(Region("orders-orch/orchestrator/replica.py", UNBOUNDED),),
    check=Check(tests=("tests/integration/test_orchestrator_load_shedding.py",),
                deciding=("test_orchestrator_load_shedding::test_orders_over_the_in_flight",),
                tier="integration (an orchestrated stack of its own on ports 28400-28410, "
                     "no broker)", seconds=20,
                failure="Over its bound the orchestrator does not shed cleanly: it queues the "
                        "extra sagas, or refuses them after storing them, so the refusal is "
                        "not a refusal."),
    wrong=(WrongFix("shed-after-storing",
                    "counting the sagas after `before()` has stored the saga refuses too late: "
                    "the saga row exists, so the order is answered from it and recovery drives "
                    "it anyway",
                    {"": '''\
with self.lock:
    if saga_id in self.active:
        return self.active[saga_id]
    future = self.active[saga_id] = Future()
try:
    if before:
        before()
except BaseException:
    self._forget(saga_id)
    raise
with self.lock:
    if len(self.active) > self.max_in_flight:  # counted once the saga is stored
        self.active.pop(saga_id, None)
        return None
self._launch(saga_id, future)
return future
'''}),),
)
