"""The page in a real browser, both variants really running: what it draws, and what it shows
when payments stops and starts again."""
import time

import pytest
import requests

from tests.support import OUTCOMES, wait_for

VARIANTS = ("choreo", "orch")
LANES = {"choreo": ["orders", "inventory", "payments", "shipping", "notifications", "rabbitmq"],
         "orch": ["orchestrator", "orders", "inventory", "payments", "shipping", "notifications"]}
COMPENSATIONS = {"stock.released", "payment.refunded", "shipment.cancelled", "release_stock",
                 "refund_payment", "cancel_shipment"}
DRAWN = """svg => [...svg.querySelectorAll('g.step')].map(g => ({
    service: g.dataset.service, step: g.dataset.step, outcome: g.dataset.outcome,
    at: g.dataset.at, from: g.dataset.from, to: g.dataset.to,
    compensation: g.classList.contains('compensation')}))"""


def expected_arrow(variant, step):
    """The arrow a timeline step must be drawn as (the rule the page's legend states)."""
    if variant == "choreo":
        ends = (step["service"], "rabbitmq")      # an event, published to the broker
    elif step["service"] == "orchestrator":
        ends = ("orchestrator", "orchestrator")   # the orchestrator's own decision
    elif step["outcome"] == "started":
        ends = ("orchestrator", step["service"])  # a command
    else:
        ends = (step["service"], "orchestrator")  # its answer
    compensation = step["step"] in COMPENSATIONS or step["outcome"].startswith("compensating")
    return {"service": step["service"], "step": step["step"], "outcome": step["outcome"],
            "at": step["at"], "from": ends[0], "to": ends[1], "compensation": compensation}


def place(page, outcome, count=1):
    """Place orders of one outcome in both variants from the page; return each variant's newest
    order id as the page shows it once it has drawn that order's saga."""
    before = {v: page.get_attribute(f"#saga-{v}", "data-order-id") for v in VARIANTS}
    page.select_option("#outcome", outcome)
    page.fill("#count", str(count))
    page.click("#place")
    for v in VARIANTS:
        page.wait_for_function(
            "([v, old]) => { const s = document.getElementById('saga-' + v);"
            " return s.dataset.orderId && s.dataset.orderId !== old; }",
            arg=[v, before[v]], timeout=30_000)
    return {v: page.get_attribute(f"#saga-{v}", "data-order-id") for v in VARIANTS}


def timeline(variants, variant, order_id):
    """The order's timeline, straight from the variant's public API."""
    url = f"{variants[variant].url('orders')}/orders/{order_id}/timeline"
    return requests.get(url, timeout=10).json()["steps"]


def drawn_as_timeline(page, variants, variant, order_id):
    """Return the drawn steps once they match a finished saga's timeline, else None."""
    steps = timeline(variants, variant, order_id)
    finished = any(s["service"] == "notifications" and s["outcome"] != "started" for s in steps)
    drawn = page.eval_on_selector(f"#saga-{variant}", DRAWN)
    wanted = [expected_arrow(variant, s) for s in steps]
    return drawn if finished and drawn == wanted else None


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_an_order_of_each_outcome_is_drawn_in_both_variants_as_its_timeline_says(
        page, variants, shots, outcome):
    placed = place(page, outcome)
    for variant in VARIANTS:
        drawn = wait_for(lambda: drawn_as_timeline(page, variants, variant, placed[variant]),
                         timeout=30, every=0.5, message=f"{variant}: the drawing of {outcome}")
        lanes = page.eval_on_selector_all(f"#saga-{variant} g.lane", "gs => gs.map(g => g.dataset.lane)")
        assert lanes == LANES[variant]
        assert {a["from"] for a in drawn} | {a["to"] for a in drawn} <= set(lanes)
        final = OUTCOMES[outcome][1]
        wait_for(lambda: page.get_attribute(f"#saga-{variant}", "data-status") == final,
                 timeout=10, message=f"{variant}: status {final} on the page")
        # An undoing arrow (not the orchestrator's "compensating" dot, drawn with nothing to undo
        # when stock was never reserved) in exactly the outcomes that must undo a step.
        compensated = any(a["compensation"] and a["from"] != a["to"] for a in drawn)
        assert compensated == (outcome in ("payment_declined", "shipping_unavailable")), drawn
    page.screenshot(path=shots / f"outcome-{outcome}.png", full_page=True)


def holding(page, variant, attribute, selector="tr"):
    """A number the page's "holding now" panel of a variant shows (-1 while it shows none)."""
    value = page.get_attribute(f"#{variant} .holding {selector}[data-{attribute}]",
                               f"data-{attribute}")
    return int(value) if value not in (None, "", "-") else -1


def queued(page, queue):
    """How many messages the page says wait in a choreographed queue."""
    return holding(page, "choreo", "ready", selector=f'tr[data-queue="{queue}"]')


def control(page, variant, action):
    """Click an action of a variant's break panel (payments is selected) and wait for its answer."""
    panel = f"#{variant} .break"
    page.select_option(f"{panel} .service", "payments")
    page.click(f"{panel} button[data-action={action}]")
    page.wait_for_function("([p, a]) => (document.querySelector(p).dataset.lastAction || '')"
                           ".startsWith(a + ' payments')", arg=[panel, action], timeout=60_000)
    assert page.get_attribute(panel, "data-last-action").endswith("done")
    return page.inner_text(f"{panel} .make")


def listed(page, variant):
    """Return the statuses of the 4 newest orders in a variant's list, as the page shows them."""
    return page.eval_on_selector_all(f"#{variant} .orders li[data-order-id]",
                                     "lis => lis.slice(0, 4).map(li => li.dataset.status)")


def test_stopping_payments_piles_messages_in_a_queue_and_parks_sagas_until_it_starts_again(
        page, variants, shots):
    started = time.monotonic()
    assert control(page, "choreo", "stop") == \
        "make stop-service VARIANT=choreo SERVICE=payments-worker"
    assert control(page, "orch", "stop") == "make stop-service VARIANT=orch SERVICE=payments-api"
    place(page, "completed", count=4)
    # Choreography holds messages: they wait in payments' queue, which has no consumer now.
    wait_for(lambda: queued(page, "payments.events") >= 4 and holding(page, "choreo", "pending") >= 4,
             timeout=30, message="choreo: 4 messages waiting for payments")
    # Orchestration holds sagas: each call to payments failed, the saga waits for recovery.
    wait_for(lambda: holding(page, "orch", "waiting") >= 4 and holding(page, "orch", "pending") >= 4,
             timeout=30, message="orch: 4 sagas waiting for recovery")
    page.screenshot(path=shots / "payments-stopped.png", full_page=True)

    assert control(page, "choreo", "start").startswith("make start-service VARIANT=choreo")
    assert control(page, "orch", "start").startswith("make start-service VARIANT=orch")
    for variant in VARIANTS:
        wait_for(lambda: holding(page, variant, "pending") == 0, timeout=90,
                 message=f"{variant}: every order finished")
    assert queued(page, "payments.events") == 0
    assert holding(page, "orch", "running") == 0 and holding(page, "orch", "waiting") == 0
    # The page draws the holding counts first and the orders' list after its reads of each
    # order in the same round, so the list may still show the last round's statuses.
    for variant in VARIANTS:
        wait_for(lambda: listed(page, variant) == ["COMPLETED"] * 4, timeout=10,
                 message=f"{variant}: the list to show its 4 newest orders COMPLETED")
    page.screenshot(path=shots / "payments-started-drained.png", full_page=True)
    print(f"\nstop, queue up, start and drain took {time.monotonic() - started:.1f}s")
