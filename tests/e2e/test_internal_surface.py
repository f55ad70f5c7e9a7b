"""The public surface takes no internal command: with an order held in flight, every path the
public orders API documents, and every path the orchestrator calls, sent to the public port
without the service credential, is refused (403) or unknown there (404/405) and changes
nothing; the saga then ends as its order asked, so no Idempotency-Key of the orchestrator was
taken with another body. In the orchestrated variant, the same commands sent straight to the
services' and the orchestrator's ports without the credential are 403 too.
"""
from tests.support import get_json, order, wait_final, wait_for

# The session's running variants (tests/e2e/conftest.py): this test needs no settings of its
# own, and everything it sends is refused, so it leaves them as it found them.
HOLD = {"choreo": "payments-worker", "orch": "payments-api"}  # stopped: the order stays PENDING


def the_orchestrators_calls(order_id):
    """(service, path, body, Idempotency-Key) of every command the orchestrator sends
    (orders-orch/orchestrator/saga.py), each with a body unlike the orchestrator's own."""
    address = {"name": "Eve", "line1": "1 Side St", "city": "Paris", "postcode": "75001",
               "country": "FR"}
    return [
        ("orders", f"/orders/{order_id}/outcome", {"status": "COMPLETED"}, "complete_order:do"),
        ("orders", f"/orders/{order_id}/outcome", {"status": "COMPLETED"}, None),
        ("orders", f"/orders/{order_id}/outcome",
         {"status": "CANCELLED", "reason": "payment_declined"}, "complete_order:do"),
        ("orchestrator", "/sagas", {"order": {"order_id": order_id}}, None),
        ("inventory", "/reservations", {"order_id": order_id,
                                        "items": [{"sku": "MUG-RED", "quantity": 1}]},
         "reserve_stock:do"),
        ("inventory", f"/reservations/{order_id}/release", {}, "reserve_stock:undo"),
        ("inventory", f"/reservations/{order_id}/commit", {"x": 1}, "commit_stock:do"),
        ("payments", "/payments", {"order_id": order_id, "customer_id": "eve",
                                   "amount_cents": 1, "currency": "EUR",
                                   "card_token": "tok_visa"}, "charge_payment:do"),
        ("payments", f"/payments/{order_id}/refund", {}, "charge_payment:undo"),
        ("shipping", "/shipments", {"order_id": order_id, "destination": address},
         "book_shipment:do"),
        ("shipping", f"/shipments/{order_id}/cancel", {}, "book_shipment:undo"),
        ("notifications", "/notifications", {"order_id": order_id, "customer_id": "eve",
                                             "outcome": "completed"}, "notify_customer:do"),
    ]


def send(http, base, path, body, key, order_id):
    headers = {"Idempotency-Key": f"{order_id}:{key}"} if key else {}
    return http.post(f"{base}{path}", json=body, headers=headers, timeout=15).status_code


def test_no_internal_command_goes_through_without_the_credential(system, http):
    variant = system.variant
    system.runner("stop-service", variant, HOLD[variant])
    try:
        order_id = _probe_while_held(system, http)
    finally:  # the variant is the session's: payments comes back whatever happened
        system.runner("start-service", variant, HOLD[variant])
    if variant == "orch":
        refused = probes_to_the_services(http, system, order_id, only="payments")
        assert refused == {}, "internal commands without the credential"

    final = wait_final(http, system.url("orders"), order_id, timeout=60)  # the orchestrator's
    assert (final["status"], final["reason"]) == ("COMPLETED", None)     # own keys work
    assert_one_of_each_effect(http, system, order_id, final)


def _probe_while_held(system, http):
    """Place an order, held PENDING; send it every command without the credential; return
    its id."""
    placed = http.post(f"{system.url('orders')}/orders", json=order(quantity=1), timeout=30)
    assert placed.status_code in (201, 202), placed.text
    order_id = placed.json()["order_id"]
    assert placed.json()["status"] == "PENDING"

    public = system.url("orders")
    answers = probe_the_public_api(http, public, order_id)
    for _, path, body, key in the_orchestrators_calls(order_id):  # all at the public port
        answers[f"POST {path} key={key}"] = send(http, public, path, body, key, order_id)
    assert {name: s for name, s in answers.items() if s not in (403, 404, 405)} == {}
    assert get_json(http, f"{public}/orders/{order_id}")["status"] == "PENDING"

    if system.variant == "orch":  # straight to each service (payments once it is back)
        refused = probes_to_the_services(http, system, order_id, skip="payments")
        assert refused == {}, "internal commands without the credential"
        assert get_json(http, f"{public}/orders/{order_id}")["status"] == "PENDING"
    return order_id


# The public operations that are not GET but are meant for customers: placing an order, and
# asking about many orders at once (a read, sent as a POST for its list of ids).
PUBLIC_POSTS = {("post", "/orders"), ("post", "/orders/outcomes")}


def probe_the_public_api(http, public, order_id):
    """POST (or PUT, PATCH, DELETE) every non-GET operation the public API documents, except
    the customers' own, aimed at the held order; return {operation: status}."""
    document = get_json(http, f"{public}/openapi.json")
    answers = {}
    for path, methods in document["paths"].items():
        for method in methods:
            if method == "get" or (method, path) in PUBLIC_POSTS:
                continue  # reads, and the customers' own operations
            url = public + path.replace("{order_id}", order_id)
            answers[f"{method.upper()} {path}"] = http.request(
                method, url, json={"status": "COMPLETED"}, timeout=15,
                headers={"Idempotency-Key": f"{order_id}:complete_order:do"}).status_code
    return answers


def probes_to_the_services(http, system, order_id, skip=None, only=None):
    """Send every orchestrator call straight to its service without the credential; return
    the ones not refused with a 403 ({call: status})."""
    answers = {}
    for service, path, body, key in the_orchestrators_calls(order_id):
        if service != skip and only in (None, service):
            status = send(http, system.url(service), path, body, key, order_id)
            answers[f"{service} POST {path} key={key}"] = status
    return {call: status for call, status in answers.items() if status != 403}


def assert_one_of_each_effect(http, system, order_id, final):
    """One capture of the order's total, one booked shipment, one notification: no probe
    charged, shipped or notified anything."""
    def items(service, path):
        return get_json(http, f"{system.url(service)}/{path}?order_id={order_id}")["items"]
    assert [(p["status"], p["amount_cents"]) for p in items("payments", "payments")] == [
        ("captured", final["total_cents"])]
    assert [s["status"] for s in items("shipping", "shipments")] == ["booked"]
    # The customer is told after the order is final (choreo: on order.completed; orch: the
    # saga's last step), so the notification may still be on its way here.
    notes = wait_for(lambda: items("notifications", "notifications"), timeout=30,
                     message=f"the notification of order {order_id}")
    assert [n["outcome"] for n in notes] == ["completed"]
