"""Exercise call-timeouts: every call the orchestrator makes has a deadline."""
from exercises.catalog import Check, Exercise, Region, WrongFix

EXERCISE = Exercise(
    name="call-timeouts",
    title="A timeout on every call (orchestration)",
    lesson="A call without a timeout can wait for ever on a service that took the connection "
           "and never answers, and with it a saga thread and a slot of the replica's bound; a "
           "timeout turns silence into a transient failure the retry policy knows what to do "
           "with.",
    teaches="C9 (self-healing) and Trade-off 11 (a bounded number of sagas in flight: a hung "
            "call holds one of them)",
    read_first=("orders-orch/orchestrator/transport.py", "orders-orch/orchestrator/policy.py",
                "orders-orch/orchestrator/saga.py (each step's Retry)"),
    todo="pass the step's timeout to the HTTP call, for the whole call and not only for the "
         "connection.",
    hint="requests waits for ever unless told otherwise. Its timeout= takes one number (connect "
         "and each read) or a (connect, read) pair; a service that accepted the connection and "
         "went silent is a read that never ends, so a connect timeout alone does not help.",
    seen="tests/unit/test_call_timeouts.py: the call to a listening socket that never answers "
         "returns a transient answer (ReadTimeout) after two attempts of 0.3 s instead of "
         "hanging.",
    regions=(Region("orders-orch/orchestrator/transport.py",
                    "answer = http_session.this_thread().request(method, url, json=body,\n"
                    "                                            headers=headers)\n"),),
    check=Check(tests=("tests/unit/test_call_timeouts.py", "tests/unit/test_saga_retry_policy.py"),
                deciding=("test_call_timeouts::test_a_service_that_never_answers",),
                tier="unit", seconds=25,
                failure="A call to a service that never answers never returns: the saga "
                        "thread hangs, holding a slot of the replica's in-flight bound."),
    wrong=(WrongFix("connect-timeout-only",
                    "timeout=(timeout, None) bounds the connection but not the wait for the "
                    "answer: a service that accepted the connection and hangs still hangs the "
                    "saga",
                    {"": "answer = http_session.this_thread().request(method, url, json=body,\n"
                         "                                            headers=headers,\n"
                         "                                            timeout=(timeout, None))\n"}),),
)
