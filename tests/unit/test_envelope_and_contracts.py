"""Unit tests of the message envelope and the event contracts, and contract tests of every
event the choreographed handlers publish (read back from the outbox, as the relay would)."""
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import select

from shared.domain import catalog, rules
from shared.domain import inventory, orders, payments
from shared.messaging import contracts
from shared.messaging.contracts import CONTRACTS, ContractViolation
from shared.runtime.db import transaction
from shared.messaging.envelope import (ENVELOPE_FIELDS, OPTIONAL_FIELDS, TRAIL_LIMIT, Envelope,
                             MalformedMessage, caused_by, parse)
from shared.http.validation import PlaceOrder
from shared.models.plumbing import outbox

CHOREO = Path(__file__).resolve().parents[2] / "orders-choreo"
SERVICES = ("orders", "inventory", "payments", "shipping", "notifications")
REMOVE = object()  # a change that takes the key out


def an_envelope(**changes):
    """Return a valid stock.committed envelope, with any field changed."""
    fields = dict(type="stock.committed", version=1, source="inventory",
                  correlation_id="corr-1", data={"order_id": "o-1", "customer_id": "c-1"})
    return Envelope(**{**fields, **changes})


def raw_envelope(**changes):
    """Return a valid envelope as a dict of JSON values, with keys changed or REMOVEd."""
    raw = json.loads(an_envelope().to_json())
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not REMOVE}


# --- the envelope ---------------------------------------------------------------------------

def test_an_envelope_survives_the_round_trip_through_json():
    envelope = an_envelope(causation_id="m-0")
    assert parse(envelope.to_json()) == envelope
    assert parse(envelope.to_json().encode()) == envelope


def test_a_serialised_envelope_carries_exactly_the_envelope_fields():
    assert set(json.loads(an_envelope().to_json())) == set(ENVELOPE_FIELDS)


def test_each_new_envelope_gets_its_own_message_id_and_a_utc_timestamp():
    first, second = an_envelope(), an_envelope()
    assert first.message_id != second.message_id
    assert first.occurred_at.endswith("Z")


@pytest.mark.parametrize("body", [b"\xff\xfe\x00", "not json", "", "{", "{'type': 1}"])
def test_a_body_that_is_not_json_is_malformed(body):
    with pytest.raises(MalformedMessage, match="not JSON"):
        parse(body)


@pytest.mark.parametrize("body", ["[]", "42", "null", '"order.placed"', "[{}]"])
def test_a_body_that_is_not_a_json_object_is_malformed(body):
    with pytest.raises(MalformedMessage, match="not a JSON object"):
        parse(body)


@pytest.mark.parametrize("name", [n for n in ENVELOPE_FIELDS if n not in OPTIONAL_FIELDS])
def test_an_envelope_missing_a_field_is_malformed_and_the_field_is_named(name):
    with pytest.raises(MalformedMessage, match=name):
        parse(json.dumps(raw_envelope(**{name: REMOVE})))


def test_an_envelope_without_a_causation_id_or_trail_is_a_first_cause():
    first = parse(json.dumps(raw_envelope(causation_id=REMOVE, trail=REMOVE)))
    assert (first.causation_id, first.trail) == (None, ())


@pytest.mark.parametrize("changes", [{"data": []}, {"data": "x"}, {"data": None},
                                     {"version": "1"}, {"version": 1.0}, {"version": None}])
def test_an_envelope_whose_data_is_not_an_object_or_version_not_an_integer_is_malformed(changes):
    with pytest.raises(MalformedMessage):
        parse(json.dumps(raw_envelope(**changes)))


@pytest.mark.parametrize("kind", [["stock.committed"], {"name": "stock.committed"}, 42])
def test_an_envelope_whose_type_is_not_a_string_is_malformed(kind):
    with pytest.raises(MalformedMessage):
        parse(json.dumps(raw_envelope(type=kind)))


def test_fields_a_newer_envelope_adds_are_ignored():
    envelope = an_envelope()
    raw = {**json.loads(envelope.to_json()), "trace_state": "abc", "priority": 3}
    assert parse(json.dumps(raw)) == envelope


def test_an_event_caused_by_another_keeps_the_correlation_id_and_names_its_cause():
    cause = an_envelope(correlation_id="saga-7")
    effect = caused_by(cause, "order.completed", 1, "orders",
                       {"order_id": "o-1", "customer_id": "c-1", "total_cents": 1})
    assert effect.correlation_id == "saga-7"
    assert effect.causation_id == cause.message_id
    assert effect.message_id != cause.message_id
    assert (effect.type, effect.version, effect.source) == ("order.completed", 1, "orders")


def test_each_event_carries_the_steps_of_its_saga_that_led_to_it_oldest_first():
    placed = an_envelope(type="order.placed", source="orders")
    declined = caused_by(placed, "payment.declined", 1, "payments",
                         {"order_id": "o-1", "customer_id": "c-1", "reason": "payment_declined"})
    released = caused_by(declined, "stock.released", 1, "inventory", dict(declined.data))

    assert [(s["type"], s["source"], s["reason"]) for s in released.trail] == [
        ("order.placed", "orders", None), ("payment.declined", "payments", "payment_declined")]
    assert [s["message_id"] for s in released.trail] == [placed.message_id, declined.message_id]
    assert released.trail[0]["occurred_at"] == placed.occurred_at
    assert parse(released.to_json()) == released


def test_a_trail_keeps_only_the_latest_steps():
    event = an_envelope()
    for _ in range(TRAIL_LIMIT + 3):
        event = caused_by(event, "stock.committed", 1, "inventory", event.data)
    assert len(event.trail) == TRAIL_LIMIT
    assert event.trail[-1]["message_id"] == event.causation_id


@pytest.mark.parametrize("trail", [{}, "order.placed", [1], [{"type": "order.placed"}],
                                   [{"message_id": "m", "type": "t", "source": "s",
                                     "occurred_at": "2026-01-01T00:00:00Z", "reason": 7}]])
def test_an_envelope_whose_trail_is_not_a_list_of_steps_is_malformed(trail):
    with pytest.raises(MalformedMessage, match="trail"):
        parse(json.dumps(raw_envelope(trail=trail)))


# --- the contracts --------------------------------------------------------------------------

SAMPLE = {str: "x", int: 1, list: [{"sku": "MUG-RED", "quantity": 1}], dict: {"k": "v"}}
WRONG = {str: [1, 2], int: "1", list: {"k": "v"}, dict: ["k"]}
FIELDS = [(t, name, kind) for t, c in CONTRACTS.items() for name, kind in c.fields.items()]


def example(event_type, version=None, **data_changes):
    """Return an envelope of this type whose data fills every contract field with a sample."""
    contract = CONTRACTS[event_type]
    data = {name: SAMPLE[kind] for name, kind in contract.fields.items()}
    data.update(data_changes)
    return an_envelope(type=event_type, version=contract.version if version is None else version,
                       data={k: v for k, v in data.items() if v is not REMOVE})


@pytest.mark.parametrize("event_type", sorted(CONTRACTS))
def test_an_example_of_every_event_type_honours_its_contract(event_type):
    contracts.check(example(event_type))


@pytest.mark.parametrize("event_type, name, _kind", FIELDS)
def test_an_event_missing_a_contract_field_breaks_the_contract(event_type, name, _kind):
    with pytest.raises(ContractViolation, match=name):
        contracts.check(example(event_type, **{name: REMOVE}))


@pytest.mark.parametrize("event_type, name, kind", FIELDS)
def test_an_event_with_a_field_of_the_wrong_type_breaks_the_contract(event_type, name, kind):
    with pytest.raises(ContractViolation, match=name):
        contracts.check(example(event_type, **{name: WRONG[kind]}))


@pytest.mark.parametrize("event_type, name", [(t, n) for t, n, k in FIELDS if k is int])
def test_a_boolean_is_not_accepted_where_the_contract_wants_an_integer(event_type, name):
    with pytest.raises(ContractViolation, match=name):
        contracts.check(example(event_type, **{name: True}))


@pytest.mark.parametrize("event_type", sorted(CONTRACTS))
def test_a_newer_version_with_extra_fields_still_honours_the_contract(event_type):
    newer = example(event_type, version=CONTRACTS[event_type].version + 1,
                    added_in_v2="extra", nested_extra={"a": [1, 2]})
    contracts.check(newer)


@pytest.mark.parametrize("event_type, name, _kind", FIELDS)
def test_a_newer_version_without_a_contract_field_breaks_the_contract(event_type, name, _kind):
    # Tolerant of what a newer version adds, not of what it takes away: a reader that waved
    # every newer version through would read None where the contract promised a value.
    newer = example(event_type, version=CONTRACTS[event_type].version + 1, **{name: REMOVE})
    with pytest.raises(ContractViolation, match=name):
        contracts.check(newer)


@pytest.mark.parametrize("event_type", sorted(CONTRACTS))
def test_a_version_older_than_the_contract_breaks_it(event_type):
    with pytest.raises(ContractViolation, match="older"):
        contracts.check(example(event_type, version=CONTRACTS[event_type].version - 1))


def test_an_unknown_event_type_breaks_the_contract():
    with pytest.raises(ContractViolation, match="unknown event type"):
        contracts.check(an_envelope(type="order.teleported"))


# --- contract tests of every event the choreographed handlers publish -----------------------

@pytest.fixture
def choreo():
    """Import the choreographed services' handlers and subscriptions; forget them afterwards.

    orders-choreo/ is not a package (hyphen) and orders-orch/ has packages with the same
    names, so the folder is on sys.path only during one test and its modules are dropped.
    """
    sys.path.insert(0, str(CHOREO))
    try:
        yield {name: (importlib.import_module(f"{name}.handlers"),
                      importlib.import_module(f"{name}.subscriptions")) for name in SERVICES}
    finally:
        sys.path.remove(str(CHOREO))
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", None) or "").startswith(str(CHOREO)):
                del sys.modules[name]


def subscribed_handlers(choreo):
    """Return {(service, routing key): handler} from every *HANDLERS map of every service."""
    found = {}
    for service, (_handlers, subscriptions) in choreo.items():
        for attr in dir(subscriptions):
            if attr.endswith("HANDLERS"):
                for key, handler in getattr(subscriptions, attr).items():
                    found[(service, key)] = handler
    return found


def stored_order(session, sku="MUG-RED", quantity=2, card_token="tok_visa", country="DE"):
    """Place an order through the orders domain and return its saga facts."""
    command = PlaceOrder("cust-42", [{"sku": sku, "quantity": quantity}], card_token,
                         {"name": "Ada", "line1": "1 Main St", "city": "Berlin",
                          "postcode": "10115", "country": country})
    order, _created = orders.place(session, command, "corr-unit")
    return dict(orders.saga_facts(orders.get_record(session, order["order_id"])))


def outcome(facts, reason):
    return {"order_id": facts["order_id"], "customer_id": facts["customer_id"], "reason": reason}


def held(session, **order):
    facts = stored_order(session, **order)
    inventory.reserve(session, facts["order_id"], facts["items"])
    return facts


def charged(session):
    facts = held(session)
    payments.charge(session, facts["order_id"], facts["customer_id"], facts["total_cents"],
                    facts["currency"], facts["card_token"])
    return facts


@dataclass(frozen=True)
class Scenario:
    """One incoming event for one subscribed handler, and the events it should publish."""
    service: str
    key: str  # the routing key the handler is subscribed with
    incoming: str  # the type of the incoming event
    prepare: Callable  # session -> the incoming event's data, after setting up the state
    publishes: tuple

    def __str__(self):
        return f"{self.service}:{self.incoming}->{'+'.join(self.publishes) or 'nothing'}"


def _scenario(service, incoming, prepare, *publishes, key=None):
    return Scenario(service, key or incoming, incoming, prepare, publishes)


SCENARIOS = [
    _scenario("inventory", "order.placed", stored_order, "stock.reserved"),
    _scenario("inventory", "order.placed",
              lambda s: stored_order(s, sku=catalog.SCARCE_SKU, quantity=30), "stock.rejected"),
    _scenario("inventory", "payment.declined",
              lambda s: outcome(held(s), rules.PAYMENT_DECLINED), "stock.released"),
    _scenario("inventory", "payment.refunded",
              lambda s: outcome(held(s), rules.SHIPPING_UNAVAILABLE), "stock.released"),
    _scenario("inventory", "shipment.booked",
              lambda s: {**outcome(held(s), "-"), "shipment_id": "shp-1"}, "stock.committed"),
    _scenario("payments", "stock.reserved", held, "payment.captured"),
    _scenario("payments", "stock.reserved",
              lambda s: held(s, card_token=catalog.DECLINED_CARD_TOKEN), "payment.declined"),
    _scenario("payments", "stock.reserved",
              lambda s: stored_order(s, sku=catalog.SCARCE_SKU, quantity=60),  # over the limit
              "payment.declined"),
    _scenario("payments", "shipment.rejected",
              lambda s: outcome(charged(s), rules.SHIPPING_UNAVAILABLE), "payment.refunded"),
    _scenario("shipping", "payment.captured",
              lambda s: {**charged(s), "payment_id": "pay-1"}, "shipment.booked"),
    _scenario("shipping", "payment.captured",
              lambda s: {**stored_order(s, country="AQ"), "payment_id": "pay-1"},
              "shipment.rejected"),
    _scenario("orders", "stock.rejected",
              lambda s: outcome(stored_order(s), rules.OUT_OF_STOCK), "order.cancelled"),
    _scenario("orders", "stock.released",
              lambda s: outcome(stored_order(s), rules.PAYMENT_DECLINED), "order.cancelled"),
    _scenario("orders", "stock.committed",
              lambda s: {k: stored_order(s)[k] for k in ("order_id", "customer_id")},
              "order.completed"),
    _scenario("orders", "order.placed", stored_order, key="#"),  # the tracker publishes nothing
    _scenario("notifications", "order.completed",
              lambda s: {k: stored_order(s)[k] for k in ("order_id", "customer_id", "total_cents")},
              "notification.sent"),
    _scenario("notifications", "order.cancelled",
              lambda s: outcome(stored_order(s), rules.PAYMENT_DECLINED), "notification.sent"),
]


def published(session_factory):
    """Return every event in the outbox, read back the way a consumer reads a message."""
    with transaction(session_factory) as session:
        rows = session.execute(select(outbox).order_by(outbox.c.id)).mappings().all()
    return [(row["routing_key"], parse(row["body"])) for row in rows]


def test_every_subscribed_handler_has_a_contract_scenario(choreo):
    assert set(subscribed_handlers(choreo)) == {(s.service, s.key) for s in SCENARIOS}


def test_every_public_handler_function_is_subscribed_or_called_by_the_api(choreo):
    subscribed = set(subscribed_handlers(choreo).values())
    for service, (handlers, _subscriptions) in choreo.items():
        for name in dir(handlers):
            if name.startswith("on_") or name == "record_in_timeline":
                handler = getattr(handlers, name)
                assert handler in subscribed or (service, name) == ("orders", "on_order_stored")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_every_event_a_handler_publishes_honours_its_contract(choreo, session_factory, scenario):
    handler = subscribed_handlers(choreo)[(scenario.service, scenario.key)]
    with transaction(session_factory) as session:
        data = scenario.prepare(session)
    incoming = Envelope(type=scenario.incoming, version=CONTRACTS[scenario.incoming].version,
                        source="unit-test", correlation_id="saga-1", data=data)
    contracts.check(incoming)  # the scenario itself must be a valid incoming event

    with transaction(session_factory) as session:
        session.execute(outbox.delete())  # keep only what the handler publishes
        handler(session, incoming)

    events = published(session_factory)
    assert tuple(envelope.type for _key, envelope in events) == scenario.publishes
    for routing_key, envelope in events:
        contracts.check(envelope)
        assert routing_key == envelope.type
        assert envelope.correlation_id == incoming.correlation_id
        assert envelope.causation_id == incoming.message_id
        assert envelope.source == scenario.service


def test_the_order_placed_event_the_api_publishes_honours_its_contract(choreo, session_factory):
    handlers = choreo["orders"][0]
    with transaction(session_factory) as session:
        facts = stored_order(session)
        handlers.on_order_stored(session, orders.get_record(session, facts["order_id"]), "req-1")
    [(routing_key, envelope)] = published(session_factory)
    contracts.check(envelope)
    assert (routing_key, envelope.type, envelope.correlation_id) == \
        ("order.placed", "order.placed", "req-1")
    assert envelope.data == facts


def test_the_choreographed_modules_are_forgotten_after_the_contract_tests():
    assert str(CHOREO) not in sys.path
    assert not [name for name in sys.modules if name.split(".")[0] in SERVICES]
