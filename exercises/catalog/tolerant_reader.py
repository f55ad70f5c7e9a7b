"""Exercise tolerant-reader: a newer version of an event, with fields added, still reads."""
from exercises.catalog import Check, Exercise, Region, WrongFix

STRICT = '''\
if envelope.version != contract.version:  # a strict reader: this version and no other
    raise ContractViolation(f"{envelope.type} v{envelope.version} is not v{contract.version}")
problems = [f"{name} must be {kind.__name__}" for name, kind in contract.fields.items()
            if not _is(envelope.data.get(name), kind)]
problems += [f"{name} is not in the contract" for name in envelope.data
             if name not in contract.fields]
'''

EXERCISE = Exercise(
    name="tolerant-reader",
    title="A new version of an event, read by a tolerant reader (both sides of the broker)",
    lesson="A consumer that accepts a newer version of an event as long as the fields it relies "
           "on are there (ignoring what was added) lets a producer evolve without a lock-step "
           "release of every consumer; removing or retyping a field still needs a new event type.",
    teaches="C3 (new events and extended payloads must not break existing logic)",
    read_first=("shared/messaging/contracts.py", "shared/messaging/envelope.py",
                "docs/reliability.md (poison messages and contracts)"),
    todo="make the contract check tolerant: refuse a version older than the contract, accept a "
         "newer one, ignore fields the contract does not name, and still require every field it "
         "names with its type.",
    hint="Compare versions with <, not !=, and build `problems` from the contract's fields only. "
         "Do not skip the field checks for a newer version: it may have dropped a field the "
         "consumers read.",
    seen="tests/unit/test_envelope_and_contracts.py: every event type's v2 with extra fields "
         "passes, a v0 and any version missing a contract field are refused, and every event "
         "the choreographed handlers publish honours its contract.",
    regions=(Region("shared/messaging/contracts.py", STRICT),),
    check=Check(tests=("tests/unit/test_envelope_and_contracts.py",),
                deciding=("test_envelope_and_contracts::test_a_newer_version_with_extra_fields",
                          "test_envelope_and_contracts::test_a_newer_version_without_a_contract",
                          "test_envelope_and_contracts::test_a_version_older_than_the_contract"),
                tier="unit", seconds=5,
                failure="The contract check is not tolerant in the right way: it refuses what a "
                        "newer producer adds, or lets through an event that lacks what the "
                        "consumers read."),
    wrong=(WrongFix("newer-versions-unchecked",
                    "waving any newer version through without checking its fields lets a "
                    "version that dropped a field reach handlers that read it",
                    {"": '''\
if envelope.version > contract.version:
    return  # newer: trust it
if envelope.version < contract.version:
    raise ContractViolation(f"{envelope.type} v{envelope.version} is older than "
                            f"v{contract.version}")
problems = [f"{name} must be {kind.__name__}" for name, kind in contract.fields.items()
            if not _is(envelope.data.get(name), kind)]
'''}),
           WrongFix("version-ignored",
                    "ignoring the version accepts an older event that predates the contract",
                    {"": '''\
problems = [f"{name} must be {kind.__name__}" for name, kind in contract.fields.items()
            if not _is(envelope.data.get(name), kind)]
'''})),
)
