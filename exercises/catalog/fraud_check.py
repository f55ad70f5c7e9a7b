"""Exercise fraud-check: add a new first step to both styles (the change-cost lesson)."""
from exercises.catalog import Check, Exercise

UNIT = ("tests/unit/test_rules.py", "tests/unit/test_saga_definition.py",
        "tests/unit/test_saga_driver.py", "tests/unit/test_envelope_and_contracts.py",
        "tests/unit/test_choreographed_compensation.py", "tests/unit/test_topology.py",
        "tests/unit/test_choreography_rules.py")

EXERCISE = Exercise(
    name="fraud-check",
    title="Add a fraud check before stock is reserved, in both styles (the cost of a change)",
    lesson="A step that only listens costs choreography one new folder, but a step that must sit "
           "between existing ones re-wires existing services' subscriptions, while in "
           "orchestration it is one new Step in one definition; count what each side touched, "
           "and what neither diff shows (a stale binding, shifted saga indexes).",
    teaches="C2 (choreography is loosely coupled: a new service is easy to add) against C6 "
            "(orchestration is declarative and centralised), Trade-offs 7 and 9",
    read_first=("docs/change-cost.md", "orders-choreo/inventory/subscriptions.py",
                "orders-orch/orchestrator/saga.py", "shared/domain/rules.py"),
    todo="refuse every order of the blocked customer cust-fraud with the reason fraud_suspected "
         "before any stock is reserved, in both variants; keep every other outcome as it is.",
    hint="docs/change-cost.md walks through it, diff by diff: the rule once in shared/domain, "
         "then a new choreographed service subscribing to order.placed (and inventory moved to "
         "fraud.cleared, orders cancelling on fraud.rejected), then one new first Step in "
         "orders-orch/orchestrator/saga.py and a service with POST /checks; and the tests, "
         "ports, compose services and databases a real change needs. `make solution "
         "NAME=fraud-check` applies the page's diffs.",
    seen="tests/e2e/test_fraud_check.py in both variants: an order of cust-fraud ends CANCELLED "
         "with fraud_suspected, nothing reserved or charged, and the customer told; an order of "
         "any other customer completes. The unit, static and duplicate tests the change touches "
         "pass with it. Then compare `git diff --stat` in your copy with the count in "
         "docs/change-cost.md.",
    regions=(),
    check=Check(tests=(*UNIT, "tests/static", "tests/integration/test_duplicates.py",
                       "tests/e2e/test_fraud_check.py"),
                deciding=("test_fraud_check::test_an_order_of_a_blocked_customer",),
                tier="variant (both variants started by the runner, ports +10000, a broker of "
                     "its own on 5673)", seconds=150,
                failure="An order of a blocked customer is not refused before stock is "
                        "reserved in both styles, or the change broke a test it touches.",
                env={"FRAUD_EXERCISE": "1"}),
    solution_page="docs/change-cost.md",
)
