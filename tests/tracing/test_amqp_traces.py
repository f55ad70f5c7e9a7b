"""One order, one trace, when the orchestrator drives its saga over RabbitMQ (ORCH_TRANSPORT=amqp):
a span per command sent, the service's command delivery as its child (the context rides in the
command's headers), and the reply's handling on the orchestrator, all in the order's trace."""
import pytest

from tests.support import OUTCOMES, ROOT, RunningVariant, moved_ports, wait_final
from tests.tracing.conftest import FAST, TRACING_AMQP_URL, settled_trace
from tests.tracing.test_traces import involved

PORT_OFFSET = 21000  # beside the HTTP variants of test_traces.py (20000)
STEPS = {  # the commands each outcome's saga sends, in order
    "completed": ["step reserve_stock", "step charge_payment", "step book_shipment",
                  "step commit_stock", "step complete_order", "step notify_customer"],
    "payment_declined": ["step reserve_stock", "step charge_payment", "compensate release_stock",
                         "step cancel_order", "step notify_customer"],
}


@pytest.fixture(scope="module")
def traced_amqp(tracing_broker):
    """The orchestrated variant over RabbitMQ with tracing on, for this module."""
    env = {**moved_ports("orch", PORT_OFFSET), **FAST, "AMQP_URL": TRACING_AMQP_URL,
           "ORCH_TRANSPORT": "amqp", "CONSUMER_THREADS": "2"}
    running = RunningVariant("orch", ROOT / "var" / "test-tracing-orch-amqp", env)
    running.start()
    yield running
    running.stop()


@pytest.mark.parametrize("outcome", sorted(STEPS))
def test_an_order_over_amqp_is_one_trace_with_a_span_per_command(traced_amqp, http, outcome):
    body, status, reason = OUTCOMES[outcome]
    order = http.post(f"{traced_amqp.url('orders')}/orders", json=body, timeout=30).json()
    assert wait_final(http, traced_amqp.url("orders"), order["order_id"])["status"] == status
    found = settled_trace(traced_amqp, order["order_id"], involved("orch", outcome))
    assert len(found) == 1, f"{len(found)} traces for one order"
    spans = next(iter(found.values()))
    by_id = {s["span_id"]: s for s in spans}
    assert [s["name"] for s in spans if s["parent_id"] not in by_id] == ["POST /orders"]
    assert {s["service"] for s in spans} >= involved("orch", outcome)
    sends = sorted((s for s in spans if s["name"].startswith(("step ", "compensate "))),
                   key=lambda s: s["start_ns"])
    steps = _resends_folded(sends)
    assert [sent[0]["name"] for sent in steps] == STEPS[outcome]
    assert {by_id[s["parent_id"]]["name"] for s in sends} == {"POST /sagas"}
    for sent in steps:
        _the_service_consumed_it_and_the_orchestrator_handled_its_reply(spans, by_id, sent)
    if reason:  # the refused step is marked with the saga's reason
        assert any(reason in (s.get("error") or "") for s in spans if s["status"] == "ERROR")


def _resends_folded(sends):
    """Group the command spans by step: a step's command sent again (no reply within
    ORCH_REPLY_TIMEOUT_MS, e.g. a slow first command on a busy machine) has a span of its own,
    with the same key and a higher saga.retries; any other repeat is a defect."""
    steps = []
    for send in sends:
        if steps and send["attributes"]["saga.key"] == steps[-1][0]["attributes"]["saga.key"]:
            retries = [s["attributes"]["saga.retries"] for s in steps[-1]]
            assert send["attributes"]["saga.retries"] > max(retries), \
                f"{send['name']} sent twice with saga.retries {retries[-1]}: not a resend"
            steps[-1].append(send)
        else:
            steps.append([send])
    return steps


def _the_service_consumed_it_and_the_orchestrator_handled_its_reply(spans, by_id, sent):
    """One send of the step at least (a resend replaces a send still in the outbox) was
    delivered to its service under its span, and a reply to it was handled."""
    step = sent[0]
    service, call = step["attributes"]["saga.service"], step["attributes"]["saga.step"]
    delivery = [s for s in spans if s["name"] == f"{service}.commands process"
                and _grandparent(s, by_id) in [send["span_id"] for send in sent]
                and _ancestors(s, by_id)[0] == "publish saga.command." + service
                and s["attributes"]["messaging.message.id"] == step["attributes"]["saga.key"]]
    assert delivery, f"{step['name']}: no delivery on {service}.commands under it"
    replies = [s for s in spans if s["name"] == f"reply {call}" and s["service"] == "orchestrator"
               and delivery[0]["name"] in _ancestors(s, by_id)]
    assert replies, f"{step['name']}: its reply's handling is not in the trace"


def _grandparent(span, by_id):
    """Return the id of a span's parent's parent, or None."""
    parent = by_id.get(span["parent_id"])
    return parent and parent["parent_id"]


def _ancestors(span, by_id):
    """Return the names of a span's ancestors, nearest first."""
    names = []
    while span["parent_id"] in by_id:
        span = by_id[span["parent_id"]]
        names.append(span["name"])
    return names
