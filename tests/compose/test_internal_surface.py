"""The containers' public surface takes no internal command (tests/e2e/test_internal_surface.py
against a compose profile): every path the public orders API documents, and every command the
orchestrator sends, posted without the service credential to the public port (and, orch, to
each service's loopback port) is refused or unknown, and the order then ends as it asked
with one capture, one shipment and one notification. Containers cannot be stopped one by one
here, so the order is not held PENDING: a probe that went through would cancel it, settle it
early, or take the orchestrator's key (and the saga would never end).
"""
from tests.e2e.test_internal_surface import (assert_one_of_each_effect, probe_the_public_api,
                                             probes_to_the_services, send,
                                             the_orchestrators_calls)
from tests.support import order, wait_final


def test_no_internal_command_goes_through_without_the_credential(system, http):
    public = system.url("orders")
    placed = http.post(f"{public}/orders", json=order(quantity=1), timeout=30)
    assert placed.status_code in (201, 202), placed.text
    order_id = placed.json()["order_id"]
    answers = probe_the_public_api(http, public, order_id)
    for _, path, body, key in the_orchestrators_calls(order_id):
        answers[f"POST {path} key={key}"] = send(http, public, path, body, key, order_id)
    assert {name: s for name, s in answers.items() if s not in (403, 404, 405)} == {}
    if system.variant == "orch":
        assert probes_to_the_services(http, system, order_id) == {}
    final = wait_final(http, public, order_id, timeout=60)
    assert (final["status"], final["reason"]) == ("COMPLETED", None)
    assert_one_of_each_effect(http, system, order_id, final)
