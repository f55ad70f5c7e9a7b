"""Unit tests of each service's operations in shared/domain on a small real SQLite database."""
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shared.domain import catalog
from shared.domain import inventory, notifications, orders, payments, shipping
from shared.http.validation import PlaceOrder
from shared.models.inventory import stock
from shared.models.notifications import notifications as notification_rows
from shared.models.orders import orders as order_rows
from shared.models.payments import payments as payment_rows, refunds
from shared.models.shipping import shipments
from shared.runtime.db import transaction
from tests.unit.database import dispose, new_session_factory

SCARCE = catalog.SCARCE_SKU
SCARCE_STOCK = catalog.PRODUCTS[SCARCE].initial_stock
ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postcode": "10115",
           "country": "DE"}


def run(session_factory, operation, *args, **kwargs):
    """Do one domain operation in its own transaction and return its answer."""
    with transaction(session_factory) as session:
        return operation(session, *args, **kwargs)


def stock_of(session_factory, sku):
    with transaction(session_factory) as session:
        return inventory.stock_item(
            session.execute(select(stock).where(stock.c.sku == sku)).mappings().one())


def count(session_factory, table, **where):
    with transaction(session_factory) as session:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        return session.execute(query).scalar_one()


def assert_conserved(session_factory):
    with transaction(session_factory) as session:
        rows = session.execute(select(stock)).mappings().all()
    for row in rows:
        assert row["initial"] == row["available"] + row["reserved"] + row["committed"], row
        assert min(row["available"], row["reserved"], row["committed"]) >= 0, row


# --- inventory ------------------------------------------------------------------------------

def test_seeding_fills_every_catalog_sku_with_its_initial_stock(session_factory):
    for product in catalog.PRODUCTS.values():
        assert stock_of(session_factory, product.sku) == {
            "sku": product.sku, "initial": product.initial_stock,
            "available": product.initial_stock, "reserved": 0, "committed": 0}


def test_seeding_again_neither_duplicates_nor_restocks(session_factory):
    run(session_factory, inventory.reserve, "o-1", [{"sku": SCARCE, "quantity": 5}])
    run(session_factory, inventory.seed)
    assert count(session_factory, stock) == len(catalog.PRODUCTS)
    assert stock_of(session_factory, SCARCE)["available"] == SCARCE_STOCK - 5


def test_reserving_available_stock_holds_it_for_the_order(session_factory):
    status = run(session_factory, inventory.reserve, "o-1",
                 [{"sku": "MUG-RED", "quantity": 2}, {"sku": SCARCE, "quantity": 3}])
    assert status == inventory.HELD
    assert stock_of(session_factory, SCARCE) == {
        "sku": SCARCE, "initial": SCARCE_STOCK, "available": SCARCE_STOCK - 3, "reserved": 3,
        "committed": 0}
    assert stock_of(session_factory, "MUG-RED")["reserved"] == 2


def test_one_short_line_rejects_the_whole_reservation_and_holds_nothing(session_factory):
    status = run(session_factory, inventory.reserve, "o-1",
                 [{"sku": "MUG-RED", "quantity": 2}, {"sku": SCARCE, "quantity": SCARCE_STOCK + 1}])
    assert status == inventory.REJECTED
    assert stock_of(session_factory, "MUG-RED")["reserved"] == 0
    assert stock_of(session_factory, SCARCE)["available"] == SCARCE_STOCK


def test_repeated_lines_of_one_sku_are_reserved_as_their_sum(session_factory):
    lines = [{"sku": SCARCE, "quantity": SCARCE_STOCK - 5}, {"sku": SCARCE, "quantity": 10}]
    assert run(session_factory, inventory.reserve, "o-1", lines) == inventory.REJECTED
    lines = [{"sku": SCARCE, "quantity": 4}, {"sku": SCARCE, "quantity": 6}]
    assert run(session_factory, inventory.reserve, "o-2", lines) == inventory.HELD
    assert stock_of(session_factory, SCARCE)["reserved"] == 10


def test_the_whole_scarce_stock_can_be_reserved_but_not_one_unit_more(session_factory):
    assert run(session_factory, inventory.reserve, "o-1",
               [{"sku": SCARCE, "quantity": SCARCE_STOCK}]) == inventory.HELD
    assert run(session_factory, inventory.reserve, "o-2",
               [{"sku": SCARCE, "quantity": 1}]) == inventory.REJECTED
    assert stock_of(session_factory, SCARCE)["available"] == 0


def test_reserving_twice_for_one_order_reserves_once(session_factory):
    lines = [{"sku": SCARCE, "quantity": 7}]
    assert run(session_factory, inventory.reserve, "o-1", lines) == inventory.HELD
    assert run(session_factory, inventory.reserve, "o-1", lines) == inventory.HELD
    assert stock_of(session_factory, SCARCE)["reserved"] == 7


def test_a_rejected_order_stays_rejected_when_asked_again(session_factory):
    lines = [{"sku": SCARCE, "quantity": SCARCE_STOCK + 1}]
    assert run(session_factory, inventory.reserve, "o-1", lines) == inventory.REJECTED
    assert run(session_factory, inventory.reserve, "o-1",
               [{"sku": SCARCE, "quantity": 1}]) == inventory.REJECTED
    assert stock_of(session_factory, SCARCE)["reserved"] == 0


def test_releasing_held_stock_gives_it_back_once(session_factory):
    run(session_factory, inventory.reserve, "o-1", [{"sku": SCARCE, "quantity": 7}])
    assert run(session_factory, inventory.release, "o-1") is True
    assert run(session_factory, inventory.release, "o-1") is False
    assert stock_of(session_factory, SCARCE)["available"] == SCARCE_STOCK
    assert stock_of(session_factory, SCARCE)["reserved"] == 0


def test_committing_held_stock_sells_it_once(session_factory):
    run(session_factory, inventory.reserve, "o-1", [{"sku": SCARCE, "quantity": 7}])
    assert run(session_factory, inventory.commit, "o-1") is True
    assert run(session_factory, inventory.commit, "o-1") is False
    assert stock_of(session_factory, SCARCE) == {
        "sku": SCARCE, "initial": SCARCE_STOCK, "available": SCARCE_STOCK - 7, "reserved": 0,
        "committed": 7}


def test_released_stock_can_no_longer_be_committed(session_factory):
    run(session_factory, inventory.reserve, "o-1", [{"sku": SCARCE, "quantity": 7}])
    run(session_factory, inventory.release, "o-1")
    assert run(session_factory, inventory.commit, "o-1") is False
    assert stock_of(session_factory, SCARCE)["committed"] == 0


def test_committed_stock_can_no_longer_be_released(session_factory):
    run(session_factory, inventory.reserve, "o-1", [{"sku": SCARCE, "quantity": 7}])
    run(session_factory, inventory.commit, "o-1")
    assert run(session_factory, inventory.release, "o-1") is False
    assert stock_of(session_factory, SCARCE)["committed"] == 7


@pytest.mark.parametrize("settle", [inventory.release, inventory.commit])
def test_an_unknown_or_rejected_order_has_nothing_to_release_or_commit(session_factory, settle):
    run(session_factory, inventory.reserve, "o-rejected",
        [{"sku": SCARCE, "quantity": SCARCE_STOCK + 1}])
    assert run(session_factory, settle, "o-unknown") is False
    assert run(session_factory, settle, "o-rejected") is False
    assert stock_of(session_factory, SCARCE)["available"] == SCARCE_STOCK


OPERATIONS = st.lists(st.tuples(
    st.sampled_from(["reserve", "release", "commit"]),
    st.sampled_from(["o-1", "o-2", "o-3", "o-4"]),
    st.lists(st.tuples(st.sampled_from([SCARCE, "MUG-RED"]), st.integers(1, 30)),
             min_size=1, max_size=3)), max_size=12)


@settings(max_examples=25, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS)
def test_stock_is_conserved_and_never_negative_whatever_the_sequence_of_operations(steps):
    with tempfile.TemporaryDirectory() as folder:
        factory = new_session_factory(Path(folder))
        try:
            run(factory, inventory.seed)
            for name, order_id, lines in steps:
                if name == "reserve":
                    items = [{"sku": sku, "quantity": qty} for sku, qty in lines]
                    run(factory, inventory.reserve, order_id, items)
                else:
                    run(factory, getattr(inventory, name), order_id)
                assert_conserved(factory)
        finally:
            dispose(factory)


# --- payments -------------------------------------------------------------------------------

def charge(session_factory, order_id="o-1", amount=2500, token="tok_visa"):
    return run(session_factory, payments.charge, order_id, "cust-42", amount, "EUR", token)


def test_a_good_card_is_charged_the_order_total(session_factory):
    payment = charge(session_factory)
    assert (payment["status"], payment["amount_cents"], payment["currency"]) == \
        (payments.CAPTURED, 2500, "EUR")
    assert payment["decline_reason"] is None


def test_an_order_is_charged_once_however_often_it_is_asked(session_factory):
    first = charge(session_factory)
    again = charge(session_factory, amount=9999)
    assert again == first
    assert count(session_factory, payment_rows, order_id="o-1") == 1


def test_the_declined_token_is_recorded_as_a_declined_payment(session_factory):
    payment = charge(session_factory, token=catalog.DECLINED_CARD_TOKEN)
    assert (payment["status"], payment["decline_reason"]) == (payments.DECLINED, "card_declined")


def test_a_total_over_the_credit_limit_is_recorded_as_declined(session_factory):
    payment = charge(session_factory, amount=catalog.CREDIT_LIMIT_CENTS + 1)
    assert (payment["status"], payment["decline_reason"]) == \
        (payments.DECLINED, "credit_limit_exceeded")


def test_a_declined_order_is_not_charged_again_later(session_factory):
    charge(session_factory, token=catalog.DECLINED_CARD_TOKEN)
    assert charge(session_factory, token="tok_visa")["status"] == payments.DECLINED


def test_a_captured_payment_is_refunded_once_in_full(session_factory):
    payment = charge(session_factory, amount=4321)
    assert run(session_factory, payments.refund, "o-1") is True
    assert run(session_factory, payments.refund, "o-1") is False
    assert count(session_factory, refunds, payment_id=payment["payment_id"]) == 1
    assert count(session_factory, refunds, amount_cents=4321) == 1
    assert charge(session_factory)["status"] == payments.REFUNDED


def test_a_declined_or_unknown_payment_is_not_refunded(session_factory):
    charge(session_factory, token=catalog.DECLINED_CARD_TOKEN)
    assert run(session_factory, payments.refund, "o-1") is False
    assert run(session_factory, payments.refund, "o-unknown") is False
    assert count(session_factory, refunds) == 0


# --- shipping -------------------------------------------------------------------------------

def test_a_shipment_is_booked_once_per_order(session_factory):
    first = run(session_factory, shipping.book, "o-1", ADDRESS)
    again = run(session_factory, shipping.book, "o-1", {**ADDRESS, "country": "FR"})
    assert first["status"] == shipping.BOOKED and first["country"] == "DE"
    assert again == first
    assert count(session_factory, shipments) == 1


def test_a_lowercase_country_is_booked_under_its_uppercase_code(session_factory):
    assert run(session_factory, shipping.book, "o-1", {**ADDRESS, "country": "de"})["country"] \
        == "DE"


@pytest.mark.parametrize("country", ["AQ", "aq"])
def test_an_unserved_country_gets_no_shipment(session_factory, country):
    assert run(session_factory, shipping.book, "o-1", {**ADDRESS, "country": country}) is None
    assert count(session_factory, shipments) == 0


def test_a_booked_shipment_is_cancelled_once(session_factory):
    run(session_factory, shipping.book, "o-1", ADDRESS)
    assert run(session_factory, shipping.cancel, "o-1") is True
    assert run(session_factory, shipping.cancel, "o-1") is False
    assert count(session_factory, shipments, status=shipping.CANCELLED) == 1


def test_cancelling_an_order_without_a_shipment_changes_nothing(session_factory):
    assert run(session_factory, shipping.cancel, "o-unknown") is False


# --- notifications --------------------------------------------------------------------------

def test_the_customer_is_notified_of_an_outcome_exactly_once(session_factory):
    first, sent = run(session_factory, notifications.notify, "o-1", "cust-42", "cancelled",
                      "payment_declined")
    again, sent_again = run(session_factory, notifications.notify, "o-1", "cust-42",
                            "completed")
    assert (sent, sent_again) == (True, False)
    assert again == first
    assert (first["outcome"], first["reason"]) == ("cancelled", "payment_declined")
    assert count(session_factory, notification_rows) == 1


# --- orders ---------------------------------------------------------------------------------

def a_command(quantity=2, customer_id="cust-42"):
    return PlaceOrder(customer_id, [{"sku": "MUG-RED", "quantity": quantity},
                                    {"sku": "BOOK-SAGA", "quantity": 1}], "tok_visa", ADDRESS)


def test_a_placed_order_is_pending_and_priced_from_the_catalog(session_factory):
    order, created = run(session_factory, orders.place, a_command(), "corr-1")
    assert created is True
    assert order["status"] == orders.PENDING and order["reason"] is None
    assert order["items"] == [{"sku": "MUG-RED", "quantity": 2, "unit_price_cents": 1250},
                              {"sku": "BOOK-SAGA", "quantity": 1, "unit_price_cents": 3450}]
    assert (order["total_cents"], order["currency"]) == (2 * 1250 + 3450, "EUR")
    assert run(session_factory, orders.get, order["order_id"]) == order


def test_the_public_order_shows_no_payment_details(session_factory):
    order, _ = run(session_factory, orders.place, a_command(), "corr-1")
    assert set(order) == {"order_id", "status", "reason", "customer_id", "items", "total_cents",
                          "currency", "created_at", "updated_at"}
    assert run(session_factory, orders.get_record, order["order_id"])["card_token"] == "tok_visa"


def test_an_unknown_order_is_none(session_factory):
    assert run(session_factory, orders.get, "no-such-order") is None


def test_the_same_idempotency_key_and_body_return_the_same_order(session_factory):
    body_hash = orders.request_hash({"a": 1})
    first, created = run(session_factory, orders.place, a_command(), "c-1", "key-1", body_hash)
    again, created_again = run(session_factory, orders.place, a_command(), "c-2", "key-1",
                               body_hash)
    assert (created, created_again) == (True, False)
    assert again == first
    assert count(session_factory, order_rows) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(session_factory):
    run(session_factory, orders.place, a_command(), "c-1", "key-1", orders.request_hash({"a": 1}))
    with pytest.raises(orders.IdempotencyConflict):
        run(session_factory, orders.place, a_command(quantity=3), "c-2", "key-1",
            orders.request_hash({"a": 2}))
    assert count(session_factory, order_rows) == 1


def test_orders_without_an_idempotency_key_are_separate_orders(session_factory):
    first, _ = run(session_factory, orders.place, a_command(), "c-1")
    second, _ = run(session_factory, orders.place, a_command(), "c-1")
    assert first["order_id"] != second["order_id"]
    assert count(session_factory, order_rows) == 2


def test_the_request_hash_ignores_key_order_but_not_values():
    assert orders.request_hash({"a": 1, "b": [1, 2]}) == orders.request_hash({"b": [1, 2], "a": 1})
    assert orders.request_hash({"a": 1}) != orders.request_hash({"a": 2})


@pytest.mark.parametrize("status, reason", [(orders.COMPLETED, None),
                                            (orders.CANCELLED, "out_of_stock")])
def test_a_pending_order_finishes_once(session_factory, status, reason):
    order, _ = run(session_factory, orders.place, a_command(), "c-1")
    assert run(session_factory, orders.finish, order["order_id"], status, reason) is True
    assert run(session_factory, orders.finish, order["order_id"], status, reason) is False
    finished = run(session_factory, orders.get, order["order_id"])
    assert (finished["status"], finished["reason"]) == (status, reason)


def test_a_completed_order_cannot_be_cancelled_afterwards(session_factory):
    order, _ = run(session_factory, orders.place, a_command(), "c-1")
    run(session_factory, orders.finish, order["order_id"], orders.COMPLETED)
    assert run(session_factory, orders.finish, order["order_id"], orders.CANCELLED,
               "payment_declined") is False
    finished = run(session_factory, orders.get, order["order_id"])
    assert (finished["status"], finished["reason"]) == (orders.COMPLETED, None)


def test_finishing_an_unknown_order_changes_nothing(session_factory):
    assert run(session_factory, orders.finish, "no-such-order", orders.COMPLETED) is False


@pytest.mark.parametrize("key", [None, "key-1"], ids=["no key", "idempotency key"])
def test_a_new_orders_stored_row_is_what_a_read_finds(session_factory, key):
    # The saga of a new order starts from the row as its transaction inserted it, not read back
    # (Trade-off 115): it must carry what a read of that row would.
    row, created = run(session_factory, orders.store, a_command(), "c-1", key, "hash-1")
    read_back = run(session_factory, orders.get_record, row["order_id"])
    assert created is True
    assert orders.saga_facts(row) == orders.saga_facts(read_back)
    assert orders.to_dict(row) == orders.to_dict(read_back)
    again, created = run(session_factory, orders.store, a_command(), "c-2", key, "hash-1")
    assert created is (key is None)
    if key:  # a replay answers with the stored order
        assert orders.to_dict(again) == orders.to_dict(row)


def test_the_saga_facts_carry_what_the_other_services_need(session_factory):
    order, _ = run(session_factory, orders.place, a_command(), "c-1")
    facts = orders.saga_facts(run(session_factory, orders.get_record, order["order_id"]))
    assert facts["card_token"] == "tok_visa"
    assert facts["shipping_address"] == ADDRESS
    assert facts["total_cents"] == order["total_cents"]
