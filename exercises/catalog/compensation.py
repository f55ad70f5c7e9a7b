"""Exercise compensation: undo what succeeded when a later step fails, in both styles."""
from exercises.catalog import Check, Exercise, Region, WrongFix

ORCH_WITHOUT = '''\
Step("inventory", Call("reserve_stock", "POST", "/reservations", reserve_request),
     may_reject=True),                                     # -> out_of_stock
Step("payments", Call("charge_payment", "POST", "/payments", charge_request),
     on_success=payment_fields, may_reject=True),          # -> payment_declined
Step("shipping", Call("book_shipment", "POST", "/shipments", shipment_request),
     on_success=lambda answer: {"shipment_id": answer["shipment_id"]},
     may_reject=True),                                     # -> shipping_unavailable
'''

REFUND_ON_THE_FAILING_STEP = '''\
Step("inventory", Call("reserve_stock", "POST", "/reservations", reserve_request),
     compensation=Call("release_stock", "POST", "/reservations/{order_id}/release"),
     may_reject=True),                                     # -> out_of_stock
Step("payments", Call("charge_payment", "POST", "/payments", charge_request),
     on_success=payment_fields, may_reject=True),          # -> payment_declined
Step("shipping", Call("book_shipment", "POST", "/shipments", shipment_request),
     compensation=Call("refund_payment", "POST", "/payments/{order_id}/refund"),
     on_success=lambda answer: {"shipment_id": answer["shipment_id"]},
     may_reject=True),                                     # -> shipping_unavailable
'''

EXERCISE = Exercise(
    name="compensation",
    title="Compensation in both styles: refund and release when a later step fails",
    lesson="A saga has no rollback: what an earlier step did (stock held, a card charged) must "
           "be undone by a compensating action when a later step fails; in orchestration each "
           "step declares its undo in one place, in choreography each service reacts to the "
           "failure event it hears and announces what it undid.",
    teaches="C6 (orchestration is declarative and centralised) against C1 (in choreography no "
            "service instructs another), and the outcomes of docs/domain.md",
    read_first=("orders-orch/orchestrator/saga.py", "orders-orch/orchestrator/steps.py (plan)",
                "orders-choreo/payments/handlers.py", "orders-choreo/inventory/handlers.py",
                "docs/choreography.md", "docs/orchestration.md"),
    todo="put the compensations back: in orchestration, each forward step that can be undone "
         "declares its compensation; in choreography, payments refunds on shipment.rejected "
         "and inventory releases the stock on payment.declined and payment.refunded.",
    hint="Orchestration: Step(..., compensation=Call(name, \"POST\", path)) on the step whose "
         "effect it undoes (the routes are in orders-orch/*/api.py: /reservations/{order_id}/"
         "release, /payments/{order_id}/refund, /shipments/{order_id}/cancel); a failed step "
         "compensates the steps BEFORE it. Choreography: shared/domain/payments.py refund() and "
         "shared/domain/inventory.py release(), and the event that tells the next service "
         "(payment.refunded: inventory waits for it).",
    seen="tests/unit/test_saga_definition.py: a refused shipment refunds, then releases, then "
         "cancels and notifies; tests/unit/test_choreographed_compensation.py: the payment ends "
         "refunded and payment.refunded is emitted; the stock available is back where it was "
         "and stock.released is emitted.",
    regions=(Region("orders-orch/orchestrator/saga.py", ORCH_WITHOUT, part="orch"),
             Region("orders-choreo/payments/handlers.py",
                    "emit(session, event, SERVICE, \"payment.refunded\", "
                    "_outcome(event.data, event.data[\"reason\"]))\n", part="refund"),
             Region("orders-choreo/inventory/handlers.py", "pass\n", part="release")),
    check=Check(tests=("tests/unit/test_saga_definition.py",
                       "tests/unit/test_choreographed_compensation.py"),
                deciding=("test_saga_definition::test_a_refused_shipment_refunds",
                          "test_choreographed_compensation::test_a_refused_shipment_refunds",
                          "test_choreographed_compensation::test_a_failed_payment"),
                tier="unit", seconds=5,
                failure="A cancelled order keeps what its earlier steps did: the customer stays "
                        "charged or the stock stays held."),
    wrong=(WrongFix("refund-on-the-failing-step",
                    "declaring the refund on the shipping step (where the failure happens) "
                    "means it never runs: a failed step compensates the steps before it, and "
                    "the charge is the payments step's to undo",
                    {"orch": REFUND_ON_THE_FAILING_STEP}),
           WrongFix("refund-without-telling",
                    "refunding without emitting payment.refunded returns the money but leaves "
                    "the stock held: inventory releases it on hearing payment.refunded",
                    {"refund": "payments.refund(session, event.data[\"order_id\"])\n"})),
)
