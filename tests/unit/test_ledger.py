"""The ledger checks see what the invariants cannot: a lost accepted order, a second order for
one key, an order nobody asked for, an order that ended other than its body asked."""
from audit.ledger import Ledger, checks, read, tally


def _order(order_id, customer, status="COMPLETED", reason=None):
    return {"order_id": order_id, "customer_id": customer, "status": status, "reason": reason,
            "items": []}


def _ledger(tmp_path, *attempts, scope="t-"):
    ledger = Ledger(tmp_path / "ledger.jsonl", scope)
    for attempt in attempts:
        ledger.record(*attempt)
    return read(ledger.path)


def _violations(scope_attempts, orders):
    return {name: bad for name, _, bad in checks(*scope_attempts, {"orders": orders}) if bad}


def test_a_clean_run_has_no_violation_and_exact_counts(tmp_path):
    ledger = _ledger(tmp_path, ("t-1", "t-1", "completed", "ConnectTimeout"),
                     ("t-1", "t-1", "completed", 202, "A"),
                     ("t-2", "t-2", "out_of_stock", 202, "B"), ("t-3", "t-3", "completed", 429))
    orders = [_order("A", "t-1"), _order("B", "t-2", "CANCELLED", "out_of_stock"),
              _order("Z", "someone-else")]
    assert _violations(ledger, orders) == {}
    assert tally(ledger[1], {"orders": orders}) == {
        "sent": 3, "accepted": 2, "asked": {"completed": 1, "out_of_stock": 1},
        "ended": {"COMPLETED": 1, "CANCELLED/out_of_stock": 1}}


def test_an_accepted_order_that_was_never_stored_is_a_violation(tmp_path):
    ledger = _ledger(tmp_path, ("t-1", "t-1", "completed", 202, "A"))
    assert list(_violations(ledger, [])) == ["every accepted order stored, final"]


def test_a_pending_order_is_not_final(tmp_path):
    ledger = _ledger(tmp_path, ("t-1", "t-1", "completed", 202, "A"))
    found = _violations(ledger, [_order("A", "t-1", "PENDING")])
    assert "every accepted order stored, final" in found


def test_a_retry_answered_with_a_second_order_is_a_violation(tmp_path):
    ledger = _ledger(tmp_path, ("t-1", "t-1", "completed", 202, "A"),
                     ("t-1", "t-1", "completed", 202, "B"))
    found = _violations(ledger, [_order("A", "t-1"), _order("B", "t-1")])
    assert list(found) == ["one order per key"]


def test_a_second_order_made_by_a_retry_whose_answer_was_lost_is_a_violation(tmp_path):
    ledger = _ledger(tmp_path, ("t-1", "t-1", "completed", "ReadTimeout"),
                     ("t-1", "t-1", "completed", 202, "A"))
    found = _violations(ledger, [_order("A", "t-1"), _order("B", "t-1")])
    assert list(found) == ["no order nobody asked for"]


def test_an_order_of_an_unanswered_key_is_accounted_for_once(tmp_path):
    ledger = _ledger(tmp_path, ("t-1", "t-1", "completed", "ReadTimeout"))
    assert _violations(ledger, [_order("A", "t-1")]) == {}
    assert list(_violations(ledger, [_order("A", "t-1"), _order("B", "t-1")])) == [
        "no order nobody asked for"]


def test_a_completed_mix_order_cancelled_is_a_violation(tmp_path):
    ledger = _ledger(tmp_path, ("t-1", "t-1", "completed", 202, "A"))
    found = _violations(ledger, [_order("A", "t-1", "CANCELLED", "payment_declined")])
    assert list(found) == ["outcome as asked"]


def test_an_unanswered_key_does_not_cover_for_a_duplicate_of_its_customer_s_other_key(tmp_path):
    # One customer, two keys: A answers the first, the second got no answer and made nothing.
    # B, a second order for the first key, must not pass as the second key's order.
    ledger = _ledger(tmp_path, ("t-k1", "t-7", "completed", 202, "A"),
                     ("t-k2", "t-7", "completed", "ReadTimeout"))
    found = _violations(ledger, [_order("A", "t-7"), _order("B", "t-7")])
    assert list(found) == ["no order nobody asked for"]


def test_an_unanswered_key_with_a_customer_of_its_own_accounts_for_its_order(tmp_path):
    ledger = _ledger(tmp_path, ("t-k1", "t-k1", "completed", 202, "A"),
                     ("t-k2", "t-k2", "completed", "ReadTimeout"))
    assert _violations(ledger, [_order("A", "t-k1"), _order("B", "t-k2")]) == {}
    assert list(_violations(ledger, [_order("A", "t-k1"), _order("B", "t-k1")])) == [
        "no order nobody asked for"]
