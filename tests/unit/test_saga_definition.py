"""The order saga's definition: step order, compensations, payloads and the answer mapping."""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "orders-orch"))

from orchestrator import saga as definition  # noqa: E402
from orchestrator.steps import COMPENSATING, DO, RUNNING, UNDO  # noqa: E402

STATE = {"saga_id": "o-1", "order_id": "o-1", "customer_id": "cust-1", "reason": None,
         "items": [{"sku": "MUG-RED", "quantity": 2, "unit_price_cents": 1250}],
         "total_cents": 2500, "currency": "EUR", "card_token": "tok_visa",
         "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin",
                              "postcode": "10115", "country": "DE"}}


def names(plan):
    return [(call.name, kind) for _step, call, kind in plan]


def test_the_forward_plan_reserves_charges_ships_commits_completes_and_notifies_in_order():
    plan = definition.saga().plan(RUNNING)
    assert names(plan) == [("reserve_stock", DO), ("charge_payment", DO), ("book_shipment", DO),
                           ("commit_stock", DO), ("complete_order", DO),
                           ("notify_customer", DO)]


def test_a_refused_shipment_refunds_then_releases_then_cancels_and_notifies():
    plan = definition.saga().plan(COMPENSATING, failed_step=2)
    assert names(plan) == [("refund_payment", UNDO), ("release_stock", UNDO),
                           ("cancel_order", DO), ("notify_customer", DO)]


def test_a_refusal_at_the_first_step_has_nothing_to_compensate():
    plan = definition.saga().plan(COMPENSATING, failed_step=0)
    assert names(plan) == [("cancel_order", DO), ("notify_customer", DO)]


def test_only_reserving_charging_and_shipping_may_refuse():
    saga = definition.saga()
    assert [s.name for s in saga.steps if s.may_reject] == ["reserve_stock", "charge_payment",
                                                            "book_shipment"]
    assert not any(s.may_reject for s in saga.on_cancel)


def test_each_request_is_built_from_the_saga_state_in_the_services_vocabulary():
    saga = definition.saga()
    reserve, charge, ship = (s.action.request(STATE) for s in saga.steps[:3])
    assert reserve == ("POST", "/reservations",
                       {"order_id": "o-1", "items": [{"sku": "MUG-RED", "quantity": 2}]})
    assert charge[2]["amount_cents"] == 2500 and charge[2]["card_token"] == "tok_visa"
    assert ship[2]["destination"] == STATE["shipping_address"]


def test_compensations_name_the_order_in_their_url():
    saga = definition.saga()
    assert [s.compensation.request(STATE)[1] for s in saga.steps[:3]] == [
        "/reservations/o-1/release", "/payments/o-1/refund", "/shipments/o-1/cancel"]


def test_the_payment_answer_is_mapped_into_the_sagas_own_fields():
    answer = {"payment_id": "p-9", "amount_cents": 2500, "status": "captured", "currency": "EUR"}
    assert definition.payment_fields(answer) == {"payment_id": "p-9", "charged_cents": 2500}


def test_the_customer_is_told_the_outcome_and_the_reason_of_a_cancellation():
    cancelled = {**STATE, "reason": "payment_declined"}
    assert definition.notification_request(STATE)["outcome"] == "completed"
    assert definition.notification_request(cancelled)["outcome"] == "cancelled"
    assert definition.notification_request(cancelled)["reason"] == "payment_declined"
    cancel = definition.saga().on_cancel[0].action.request(cancelled)
    assert cancel[2] == {"status": "CANCELLED", "reason": "payment_declined"}
