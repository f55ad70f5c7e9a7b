"""Unit tests of the business rules in shared/domain/rules.py: plain values in, decisions out."""
import pytest

from shared.domain import catalog, rules


def test_each_line_is_priced_at_the_catalog_price_of_its_sku():
    lines = rules.price_lines([{"sku": "MUG-RED", "quantity": 2},
                               {"sku": "BOOK-SAGA", "quantity": 1}])
    assert lines == [rules.PricedLine("MUG-RED", 2, 1250), rules.PricedLine("BOOK-SAGA", 1, 3450)]


def test_the_total_is_the_sum_of_quantity_times_unit_price_in_cents():
    lines = rules.price_lines([{"sku": "MUG-RED", "quantity": 2},
                               {"sku": "TEE-BLACK", "quantity": 3}])
    assert rules.order_total(lines) == 2 * 1250 + 3 * 1999


def test_an_order_without_lines_totals_zero():
    assert rules.order_total([]) == 0


def test_every_catalog_price_and_stock_is_a_positive_integer():
    for product in catalog.PRODUCTS.values():
        assert isinstance(product.unit_price_cents, int) and product.unit_price_cents > 0
        assert isinstance(product.initial_stock, int) and product.initial_stock > 0


def test_the_catalog_has_one_scarce_sku_under_100_units_and_plenty_for_load_runs():
    scarce = [p.sku for p in catalog.PRODUCTS.values() if p.initial_stock < 100]
    plenty = [p.sku for p in catalog.PRODUCTS.values() if p.initial_stock >= 1_000_000]
    assert scarce == [catalog.SCARCE_SKU]
    assert plenty


def test_an_unknown_sku_has_no_product():
    assert catalog.product("NO-SUCH-SKU") is None


def test_repeated_skus_are_merged_into_one_quantity():
    wanted = rules.merge_quantities([{"sku": "MUG-RED", "quantity": 2},
                                     {"sku": "MUG-BLUE", "quantity": 1},
                                     {"sku": "MUG-RED", "quantity": 5}])
    assert wanted == {"MUG-RED": 7, "MUG-BLUE": 1}


def test_stock_can_be_reserved_when_every_sku_has_enough():
    assert rules.can_reserve({"MUG-RED": 2, "LAMP-LIMITED": 25},
                             {"MUG-RED": 2, "LAMP-LIMITED": 25, "BOOK-SAGA": 0})


def test_one_short_sku_makes_the_whole_reservation_impossible():
    assert not rules.can_reserve({"MUG-RED": 2, "LAMP-LIMITED": 26},
                                 {"MUG-RED": 1000, "LAMP-LIMITED": 25})


def test_a_sku_without_any_stock_record_cannot_be_reserved():
    assert not rules.can_reserve({"GHOST": 1}, {"MUG-RED": 1000})


def test_merged_lines_that_exceed_stock_together_cannot_be_reserved():
    wanted = rules.merge_quantities([{"sku": "LAMP-LIMITED", "quantity": 20},
                                     {"sku": "LAMP-LIMITED", "quantity": 10}])
    assert not rules.can_reserve(wanted, {"LAMP-LIMITED": 25})


def test_the_declined_card_token_is_declined():
    assert rules.payment_decision(catalog.DECLINED_CARD_TOKEN, 100) == "card_declined"
    assert catalog.DECLINED_CARD_TOKEN == "tok_declined"


def test_a_total_over_the_credit_limit_is_declined():
    assert rules.payment_decision("tok_visa", catalog.CREDIT_LIMIT_CENTS + 1) == \
        "credit_limit_exceeded"


def test_a_total_exactly_at_the_credit_limit_is_accepted():
    assert rules.payment_decision("tok_visa", catalog.CREDIT_LIMIT_CENTS) is None


def test_a_good_card_and_a_modest_total_are_accepted():
    assert rules.payment_decision("tok_visa", 2500) is None


@pytest.mark.parametrize("country", ["AQ", "aq", "Aq", "KP"])
def test_an_unserved_country_cannot_be_shipped_to_in_any_letter_case(country):
    assert not rules.can_ship_to(country)


@pytest.mark.parametrize("country", ["DE", "de", "FR", "US"])
def test_a_served_country_can_be_shipped_to(country):
    assert rules.can_ship_to(country)


def test_antarctica_is_in_the_documented_unserved_countries():
    assert "AQ" in catalog.UNSERVED_COUNTRIES


def test_the_failure_reasons_are_the_three_of_the_domain():
    assert set(rules.REASONS) == {"out_of_stock", "payment_declined", "shipping_unavailable"}
