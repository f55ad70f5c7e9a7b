"""Exercise crash-recovery: the orchestrator resumes the sagas a crash cut off."""
from exercises.catalog import Check, Exercise, Region, WrongFix

EXERCISE = Exercise(
    name="crash-recovery",
    title="The orchestrator's crash recovery (orchestration)",
    lesson="Because every saga's state and cursor are in the database, a replica that comes "
           "back after a crash (or takes over a dead one's shards) finds the unfinished sagas "
           "and resumes each where it stopped; which sagas it looks for decides which ones "
           "are stuck for ever.",
    teaches="C9 (self-healing) and C11 (a persisted store for workflow state, Trade-off 13)",
    read_first=("orders-orch/orchestrator/store.py (due)",
                "orders-orch/orchestrator/replica.py (recover_once)",
                "orders-orch/orchestrator/steps.py (RUNNING, COMPENSATING, UNFINISHED)",
                "docs/orchestration.md"),
    todo="select the sagas a recovery round must resume: unfinished (walking forward or "
         "compensating), of the shards this replica leases, not already driven here, and due.",
    hint="sagas.c.state.in_(UNFINISHED), sagas.c.shard.in_(...), sagas.c.saga_id.not_in(...) "
         "and sagas.c.next_attempt_at <= utcnow(). A saga can die while compensating: looking "
         "for RUNNING ones only leaves its stock held for ever.",
    seen="tests/unit/test_saga_driver.py: a saga cut off mid-compensation is due for recovery "
         "(and not while this replica drives it), and resuming it ends it CANCELLED. The "
         "whole-stack version, tests/integration/test_orchestrator_crash_recovery.py (kill -9 "
         "mid-saga, every saga finishes), is worth a run once the check passes.",
    regions=(Region("orders-orch/orchestrator/store.py",
                    "select(sagas.c.saga_id).where(sagas.c.saga_id.is_(None))  # none, ever\n"),),
    check=Check(tests=("tests/unit/test_saga_driver.py", "tests/unit/test_saga_shards.py"),
                deciding=("test_saga_driver::test_a_saga_cut_off_mid_compensation",),
                tier="unit", seconds=12,
                failure="Recovery does not find every saga a crash cut off: some stay "
                        "unfinished for ever, holding stock or money."),
    wrong=(WrongFix("running-only",
                    "resuming only RUNNING sagas forgets those that died while compensating",
                    {"": '''\
select(sagas.c.saga_id).where(sagas.c.state == RUNNING,
                              sagas.c.shard.in_(sorted(shards)),
                              sagas.c.saga_id.not_in(list(driving)),
                              sagas.c.next_attempt_at <= utcnow())
'''}),
           WrongFix("driven-ones-too",
                    "resuming the sagas this replica is driving right now starts a second "
                    "thread on each, and under load fills the round with them",
                    {"": '''\
select(sagas.c.saga_id).where(sagas.c.state.in_(UNFINISHED),
                              sagas.c.shard.in_(sorted(shards)),
                              sagas.c.next_attempt_at <= utcnow())
'''})),
)
