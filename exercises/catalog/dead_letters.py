"""Exercise dead-letters: a poison message goes to the dead letters at once, with its reason."""
from exercises.catalog import Check, Exercise, Region, WrongFix

TESTS = ("test_poison_messages_are_dead_lettered_with_a_reason_and_the_consumer_goes_on",
         "test_a_transient_failure_is_retried_after_a_delay_and_applied_once",
         "test_a_message_that_keeps_failing_is_dead_lettered_and_can_be_replayed")

EXERCISE = Exercise(
    name="dead-letters",
    title="Dead letters for poison messages (choreography)",
    lesson="A message that can never succeed (not JSON, breaking its contract, of a type nobody "
           "handles) must leave the queue at once for the dead letters, with the reason for a "
           "person to read, while a message that failed for a passing reason is retried: "
           "telling the two apart keeps the queue moving and loses neither.",
    teaches="Trade-off 6 (a failed message waits in a retry queue, then goes to the dead "
            "letters) and the poison-message guarantee of docs/reliability.md",
    read_first=("shared/messaging/consumer.py (_failed, dead_letter, retry_later)",
                "ops/deadletters.py", "docs/reliability.md (dead letters)", "docs/faults.md"),
    todo="send a poison message (MalformedMessage, contracts.ContractViolation, PermanentError) "
         "to the dead letters at once, with the reason 'poison: <the error>', and stop there; "
         "every other failure goes on to the retries below.",
    hint="isinstance(exc, (...)) and self._dead_letter(delivery, reason), then return. Do not "
         "dead-letter everything at the first failure: a busy database is not poison, and its "
         "message must be retried after the delay.",
    seen="tests/integration/test_consumer.py: three poison messages dead-lettered with reasons "
         "starting 'poison:' (not JSON, total_cents, fraud) while the good order behind them is "
         "charged; a message failing twice is retried and applied once; one failing every "
         "time is dead-lettered after 3 attempts and can be replayed.",
    regions=(Region("shared/messaging/consumer.py", ""),),
    check=Check(tests=tuple(f"tests/integration/test_consumer.py::{name}" for name in TESTS),
                deciding=tuple(f"test_consumer::{name}" for name in TESTS),
                tier="integration (a real RabbitMQ node of its own, port 5674)", seconds=25,
                failure="Poison and passing failures are not told apart: a message that can "
                        "never succeed is retried (and blocks a consumer), or one that could "
                        "have succeeded goes to the dead letters at once."),
    wrong=(WrongFix("dead-letter-every-failure",
                    "dead-lettering every failure at once keeps the queue moving but sends a "
                    "person the messages a retry a second later would have applied",
                    {"": "self._dead_letter(delivery, f\"poison: {exc}\")\nreturn\n"}),),
)
