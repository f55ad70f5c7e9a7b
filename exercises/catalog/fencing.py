"""Exercise fencing: a replica that lost its shard's lease can write nothing more."""
from exercises.catalog import Check, Exercise, Region, WrongFix

EXERCISE = Exercise(
    name="fencing",
    title="Fencing a stale orchestrator replica (orchestration)",
    lesson="A lease alone does not stop a replica that stalled past it from writing: every saga "
           "write must carry the token (owner and epoch) its replica held and change nothing "
           "unless the lease row still says exactly that.",
    teaches="C12 (sharding) and Trade-off 14 (the lease is checked by the saga write itself)",
    read_first=("orders-orch/orchestrator/shards.py (module docstring, Token, HOLDS)",
                "orders-orch/orchestrator/store.py (where HOLDS is used)",
                "docs/reliability.md (Orchestration: leases)"),
    todo="define HOLDS, the SQL condition 'the shard's lease row is still the writer's token', "
         "from the bound parameters lease_shard, lease_owner and lease_epoch.",
    hint="exists().where(...) over shard_leases, with one condition per field of the Token. The "
         "owner is not enough: a replica can lose a shard and take it again under the same "
         "name, one epoch later; only the epoch tells its stalled thread's old token apart.",
    seen="tests/unit/test_saga_shards.py: a replica whose shard was taken over writes nothing "
         "with its old token, also when it has taken the shard back since (same owner, epoch "
         "+2), nor after giving the shard back; an expired lease nobody took still fences by "
         "epoch, not by clock.",
    regions=(Region("orders-orch/orchestrator/shards.py",
                    "HOLDS = exists().where(shard_leases.c.shard == bindparam(\"lease_shard\"))"
                    "  # any lease\n"),),
    check=Check(tests=("tests/unit/test_saga_shards.py",),
                deciding=("test_saga_shards::test_a_replica_that_lost_its_shard_writes_nothing",
                          "test_saga_shards::test_a_token_from_before_the_replica_gave",
                          "test_saga_shards::test_a_shard_given_back_fences"),
                tier="unit", seconds=12,
                failure="A replica that lost its shard's lease can still write the saga: a "
                        "stalled replica overwrites the one that took its sagas over."),
    wrong=(WrongFix("owner-without-epoch",
                    "checking the owner alone refuses another replica's stale write but not "
                    "one from this replica's own earlier tenure of the shard",
                    {"": "HOLDS = exists().where(shard_leases.c.shard == bindparam(\"lease_shard\"),\n"
                         "                       shard_leases.c.owner == bindparam(\"lease_owner\"))\n"}),
           WrongFix("epoch-without-owner",
                    "checking the epoch alone misses a shard given back: giving back clears the "
                    "owner and keeps the epoch (only a takeover bumps it), so the old token "
                    "still matches until another replica takes the shard",
                    {"": "HOLDS = exists().where(shard_leases.c.shard == bindparam(\"lease_shard\"),\n"
                         "                       shard_leases.c.epoch == bindparam(\"lease_epoch\"))\n"})),
)
