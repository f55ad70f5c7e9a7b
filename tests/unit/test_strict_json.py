"""Unit tests of shared/runtime/strict_json.py and of the envelope parser that uses it: every body
Python reads but no service can keep is one ValueError, and a message a MalformedMessage
(so the consumer dead-letters it at once instead of retrying it)."""
import json

import pytest

from chaos import structural
from shared.messaging.envelope import Envelope, MalformedMessage, parse
from shared.runtime import strict_json


def envelope_text(**changes):
    raw = json.loads(Envelope(type="order.placed", version=1, source="orders",
                              correlation_id="c-1", data={"order_id": "o-1"}).to_json())
    return json.dumps({**raw, **changes})


@pytest.mark.parametrize("case", [c for c in structural.KEPT] + ["NaN", "a lone surrogate as a key"])
def test_a_body_no_service_can_keep_is_a_value_error(case):
    text = {**structural.KEPT, **structural.REFUSED}[case]
    with pytest.raises(ValueError):
        strict_json.loads(text)


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1E400", "123456789e999"])
def test_a_number_too_large_for_a_float_is_refused_not_read_as_infinity(number):
    with pytest.raises(ValueError):
        strict_json.loads(structural.with_extra(number))


def test_large_but_finite_numbers_are_read_as_they_are():
    assert strict_json.loads("[1e308, -2.5e-300, 12345678901234567890]") == [
        1e308, -2.5e-300, 12345678901234567890]


def test_an_ordinary_order_unicode_and_surrogate_pairs_are_read_as_they_are():
    text = structural.with_customer("\\ud83d\\ude00 Zoë \\u202e")
    assert strict_json.loads(text)["customer_id"] == "\U0001F600 Zoë \u202e"


def test_nesting_up_to_the_limit_is_read_and_one_level_more_is_refused():
    assert strict_json.loads(structural.nested(strict_json.MAX_DEPTH - 1)) is not None
    with pytest.raises(ValueError):
        strict_json.loads(structural.nested(strict_json.MAX_DEPTH))


@pytest.mark.parametrize("text", [
    "[" * 5000 + "]" * 5000,
    envelope_text(data={"note": "\ud800"}),
    envelope_text(correlation_id="a\u0000b"),
    envelope_text(data={"x": float("nan")}),
    envelope_text(data={"x": 1}).replace('"x": 1', '"x": 1e999'),
    envelope_text(message_id={"id": 1}),
    envelope_text(correlation_id=None),
    envelope_text(causation_id=7),
])
def test_an_envelope_no_consumer_can_keep_is_a_malformed_message(text):
    with pytest.raises(MalformedMessage):
        parse(text.encode("utf-8", "surrogatepass"))


def test_a_valid_envelope_still_parses():
    assert parse(envelope_text().encode()).correlation_id == "c-1"
