"""Exercise idempotent-consumer: a message applied once is a no-op the second time."""
from exercises.catalog import Check, Exercise, Region, WrongFix

EXERCISE = Exercise(
    name="idempotent-consumer",
    title="The idempotent consumer (choreography)",
    lesson="Delivery is at least once, so every consumer must recognise a message it has "
           "already applied, and remember it in the same database transaction as the effect, "
           "where every worker of the service looks.",
    teaches="Trade-off 3 (the message id is recorded in the same transaction as the effect) "
            "and the at-least-once guarantee of docs/reliability.md",
    read_first=("docs/reliability.md (Choreography: the idempotent consumer)",
                "shared/messaging/consumer.py (apply_in, first_delivery)",
                "shared/models/plumbing.py (processed_messages)"),
    todo="record the message id as processed by this consumer (queue) in the given session, and "
         "return False when it was recorded before.",
    hint="The table processed_messages has the key (consumer, message_id). shared/runtime/db.py "
         "has insert_if_absent(session, table, values, *conflict_columns): one atomic INSERT "
         "that tells you whether it inserted. A set in memory forgets on restart and is not "
         "shared with the service's other worker processes.",
    seen="tests/integration/test_duplicates.py: a second delivery of each of the 12 events the "
         "services consume changes no table, and a copy applied by a second worker process "
         "(a subprocess) adds no second effect.",
    regions=(Region("shared/messaging/consumer.py",
                    "return True  # every delivery is treated as the first\n"),),
    check=Check(tests=("tests/integration/test_duplicates.py",),
                deciding=("test_duplicates::test_a_copy_that_reaches_another_worker_process",
                          "test_duplicates::test_a_second_delivery_of_the_same_event"),
                tier="unit (real SQLite databases, no broker)", seconds=6,
                failure="A message delivered twice is applied twice: a redelivery after a "
                        "crash charges, ships or notifies a second time."),
    wrong=(WrongFix("in-memory-set",
                    "a set of seen ids on the consumer object drops copies that come back to "
                    "the same consumer, but not those another worker process gets, nor any "
                    "after a restart",
                    {"": "seen = self.__dict__.setdefault(\"seen_ids\", set())\n"
                         "if message_id in seen:\n"
                         "    return False\n"
                         "seen.add(message_id)\n"
                         "return True\n"}),
           WrongFix("process-wide-set",
                    "a module-level set shared by every consumer of the process still lives "
                    "in one process's memory",
                    {"": "seen = globals().setdefault(\"SEEN_MESSAGE_IDS\", set())\n"
                         "if (self.queue, message_id) in seen:\n"
                         "    return False\n"
                         "seen.add((self.queue, message_id))\n"
                         "return True\n"})),
)
