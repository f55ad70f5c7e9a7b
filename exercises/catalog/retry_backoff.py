"""Exercise retry-backoff: the orchestrator's waits between retries grow exponentially."""
from exercises.catalog import Check, Exercise, Region, WrongFix

EXERCISE = Exercise(
    name="retry-backoff",
    title="Retries with exponential backoff and jitter (orchestration)",
    lesson="A call that failed for a passing reason is retried after waits that double each "
           "time, so a struggling service gets more room with every failure instead of a "
           "steady hammering.",
    teaches="C9 (regulation of load and self-healing: orders-orch/orchestrator/policy.py)",
    read_first=("docs/reliability.md (Orchestration)", "orders-orch/orchestrator/policy.py"),
    todo="return tenacity's wait strategy: backoff, then twice, four times... as long, capped "
         "at 16 backoffs, each plus a random jitter of up to one backoff.",
    hint="tenacity has a wait strategy made of exponential growth plus jitter "
         "(wait_exponential_jitter: multiplier, max, jitter). A fixed wait plus random jitter "
         "spreads the retries but never backs off: the test asks each wait to reach its "
         "exponential floor.",
    seen="tests/unit/test_saga_retry_policy.py: seven waits of at least 0.1, 0.2, 0.4, 0.8, 1.6, "
         "1.6 and 1.6 s, never above 1.7 s, and no retry of a business refusal.",
    regions=(Region("orders-orch/orchestrator/policy.py",
                    "return tenacity.wait_none()  # retries at once: a hot loop\n"),),
    check=Check(tests=("tests/unit/test_saga_retry_policy.py",),
                deciding=("test_saga_retry_policy::test_the_waits_grow_exponentially",),
                tier="unit", seconds=3,
                failure="The waits between retries do not grow from the backoff to 16 times it: "
                        "a service that is down gets hammered at a steady rate."),
    wrong=(WrongFix("fixed-wait-plus-jitter",
                    "a constant wait plus random jitter spreads the retries out but never "
                    "backs off; it passed the old form of the test in about half the runs",
                    {"": "return tenacity.wait_fixed(backoff) + tenacity.wait_random(0, backoff)\n"}),
           WrongFix("exponential-without-cap",
                    "waits that double without a ceiling leave a saga waiting minutes "
                    "after a short outage",
                    {"": "return tenacity.wait_exponential(multiplier=backoff)\n"})),
)
