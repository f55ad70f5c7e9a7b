"""The order saga, declared in one place: its steps, their compensations, and their requests.

Read SAGA top to bottom: that is the whole business process (C6). Each step names the service
it calls, the compensation that undoes it, and how the answer flows back into the saga's state.
The functions below it build each request from the saga state and map answers back (C7).
Twin: none as one file; in orders-choreo/ the same sequence is spread over the services'
subscriptions.py files (who reacts to which event).
"""
from orchestrator.steps import Call, Retry, Saga, Step

PATIENT = Retry(attempts=6, timeout_ms=2000)  # past the point of no return: settle, do not give up soon


# Trade-off 9: the whole process is this one definition (C6): easy to read and to change, but
# every new step is an edit here and a redeploy of the orchestrator, which every saga needs.
def saga():
    """Return the order saga's definition."""
    return Saga(
        steps=(
            # exercise: compensation begin orch
            Step("inventory", Call("reserve_stock", "POST", "/reservations", reserve_request),
                 compensation=Call("release_stock", "POST", "/reservations/{order_id}/release"),
                 may_reject=True),                                     # -> out_of_stock
            Step("payments", Call("charge_payment", "POST", "/payments", charge_request),
                 compensation=Call("refund_payment", "POST", "/payments/{order_id}/refund"),
                 on_success=payment_fields, may_reject=True),          # -> payment_declined
            Step("shipping", Call("book_shipment", "POST", "/shipments", shipment_request),
                 compensation=Call("cancel_shipment", "POST", "/shipments/{order_id}/cancel"),
                 on_success=lambda answer: {"shipment_id": answer["shipment_id"]},
                 may_reject=True),                                     # -> shipping_unavailable
            # exercise: compensation end orch
            Step("inventory", Call("commit_stock", "POST", "/reservations/{order_id}/commit"),
                 retry=PATIENT),
            Step("orders", Call("complete_order", "POST", "/orders/{order_id}/outcome",
                                lambda state: {"status": "COMPLETED"}), retry=PATIENT),
            Step("notifications", Call("notify_customer", "POST", "/notifications",
                                       notification_request), retry=PATIENT),
        ),
        on_cancel=(  # after the compensations of the steps that succeeded, in reverse order
            Step("orders", Call("cancel_order", "POST", "/orders/{order_id}/outcome",
                                lambda state: {"status": "CANCELLED", "reason": state["reason"]}),
                 retry=PATIENT),
            Step("notifications", Call("notify_customer", "POST", "/notifications",
                                       notification_request), retry=PATIENT),
        ),
    )


# Payload construction: each service gets only what it needs, in its own vocabulary.

def reserve_request(state):
    """Ask inventory for the lines, without the prices it does not need."""
    return {"order_id": state["order_id"],
            "items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in state["items"]]}


def charge_request(state):
    """Ask payments for the order total on the customer's card."""
    return {"order_id": state["order_id"], "customer_id": state["customer_id"],
            "amount_cents": state["total_cents"], "currency": state["currency"],
            "card_token": state["card_token"]}


def shipment_request(state):
    """Ask shipping to deliver to the order's address (shipping calls it the destination)."""
    return {"order_id": state["order_id"], "destination": state["shipping_address"]}


def notification_request(state):
    """Tell notifications the outcome, in its vocabulary: completed or cancelled, and why."""
    outcome = "cancelled" if state.get("reason") else "completed"
    return {"order_id": state["order_id"], "customer_id": state["customer_id"],
            "outcome": outcome, "reason": state.get("reason")}


# Transformation: the service's answer mapped into the saga's own fields.

def payment_fields(answer):
    """Keep the payment id and what was actually charged, under the saga's names."""
    return {"payment_id": answer["payment_id"], "charged_cents": answer["amount_cents"]}
