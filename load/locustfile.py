"""One Locust user for both variants: place an order, then wait for it until it is final.

    locust -f load/locustfile.py --host http://127.0.0.1:8001     (choreographed, `make load-choreo`)
    locust -f load/locustfile.py --host http://127.0.0.1:8002     (orchestrated, `make load-orch`)

The variant is chosen by --host only. Before the first user starts, the host's /health must
answer (load/preflight.py): headless, Locust stops at once with one line naming the URL and the
`make` command that starts the variant; in the web UI, Start is refused with that line.

Two latencies are recorded as separate Locust entries, so the choreographed `202` is never
compared with the orchestrated `201`:

- `POST /orders`: the time until the order is accepted (202) or, in orch, often already final (201);
- `order final` (type SAGA): from the POST until the order is COMPLETED or CANCELLED; for a 201
  the saga is final in the answer, so it equals the POST time. It is kept out of Locust's total
  (load/sagas_tab.py, Trade-off 92): the header's RPS counts HTTP requests only.

Every order is also counted on the Sagas tab (load/sagas_tab.py): placed, completed, cancelled
by reason, in flight, shed; its times to final; summed over Locust's processes.

A PENDING order is waited for, not polled, and not one request per order: the users of a
Locust process hand their orders to one `Outcomes` (load/outcomes.py), which asks for up to 500
at once with `POST /orders/outcomes?wait=<s>` (the entry `POST /orders/outcomes?wait`). The
server answers as soon as one of them is final, or after s seconds (LOAD_WAIT_S, at most its
ORDER_WAIT_MAX_S); the ids still PENDING are asked for again, until LOAD_FINAL_WITHIN_S. A
request the server refuses (no free wait slot: the header `Wait-Refused`) is followed by a
pause (0.1 s, backing off to LOAD_POLL_MAX_S). A request that got no answer at all is reported
as what happened to it ("connection refused"), and the next one waits (0.25 s doubling to 4 s).

A `429` (the orchestrator sheds load) is recorded as `POST /orders [429 shed]`, not as an error.
Options (Locust arguments, shown and editable under the web UI's options):
- `--mix`: the outcome mix, e.g. `completed=7,out_of_stock=1,payment_declined=1,
  shipping_unavailable=1` (weights, the default; LOAD_MIX);
- `--pacing`: 0 (closed loop, LOAD_PACING_S unset): each user places its next order when the
  last one is final, so the throughput shows what the system sustains (the steady ramp); N > 0
  (open loop): each user places an order every N seconds and waits for its outcome in a
  greenlet of its own, so orders keep arriving whatever happens to the ones before (the outage);
- `--ledger`: a ledger file (audit/ledger.py; LOAD_LEDGER), or `auto` for a new one under
  var/load/: every POST carries an Idempotency-Key and is recorded there with its answer, and
  after STOP the run is audited against it;
- `--stop-wait`: how long after STOP the orders still in flight are waited for;
- `--variant`: choreo or orch, when the port of --host is not a default one (for the audit).
The shapes a user picks in the UI are in load/shapes.py, a second locustfile (`make load-choreo`
passes `-f load/locustfile.py,load/shapes.py --class-picker`): Locust runs the first shape it
finds unless a picker is shown, so a plain `-f load/locustfile.py` runs --users as given.
"""
import os
import random
import sys
import time
import uuid

import gevent
from locust import FastHttpUser, constant, constant_pacing, events, task
from locust.contrib.fasthttp import FastHttpSession

from load import outcomes, preflight, sagas_tab

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postcode": "10115",
           "country": "DE"}
# One order body per outcome of docs/domain.md (as tests/support.py OUTCOMES), with its final status.
# LAMP-LIMITED has 25 units: asking 100 is always out of stock and never drains it.
OUTCOMES = {
    "completed": (("MUG-RED", 2, "tok_visa", "DE"), "COMPLETED"),
    "out_of_stock": (("LAMP-LIMITED", 100, "tok_visa", "DE"), "CANCELLED"),
    "payment_declined": (("MUG-BLUE", 1, "tok_declined", "DE"), "CANCELLED"),
    "shipping_unavailable": (("TEE-BLACK", 3, "tok_visa", "AQ"), "CANCELLED"),
}
DEFAULT_MIX = "completed=7,out_of_stock=1,payment_declined=1,shipping_unavailable=1"
# One wait lasts LOAD_WAIT_S at most (the server refuses more than ORDER_WAIT_MAX_S, 10 s).
WAIT_S = float(os.environ.get("LOAD_WAIT_S", "10"))
FINAL_WITHIN_S = float(os.environ.get("LOAD_FINAL_WITHIN_S", "120"))
BOARD = sagas_tab.BOARD  # this process's orders, the Sagas tab's numbers
_OUTCOMES = {}  # host -> the Outcomes of this process's users (load/outcomes.py)


def outcomes_of(environment, host):
    """Return the one Outcomes of this process for `host`, made on first use."""
    if host not in _OUTCOMES:
        session = FastHttpSession(host, environment.events.request, None,
                                  network_timeout=WAIT_S + 30, connection_timeout=10,
                                  concurrency=outcomes.REQUESTS_AT_ONCE + 1)
        _OUTCOMES[host] = outcomes.Outcomes(session, WAIT_S)
    return _OUTCOMES[host]


@events.init_command_line_parser.add_listener
def add_options(parser):
    """The options a user sees and edits under the web UI's settings (and on the command line)."""
    parser.add_argument("--mix", default=os.environ.get("LOAD_MIX", DEFAULT_MIX),
                        help="the outcome mix, as name=weight pairs of completed, "
                             "out_of_stock, payment_declined, shipping_unavailable")
    parser.add_argument("--pacing", type=float, default=float(os.environ.get("LOAD_PACING_S") or 0),
                        help="0: closed loop; N: each user places an order every N seconds")
    parser.add_argument("--ledger", default=sagas_tab.ledger_default(),
                        help="a ledger file, or auto (var/load/), to audit the run against")
    parser.add_argument("--stop-wait", type=float, default=15.0,
                        help="seconds to wait after STOP for the orders still in flight")
    parser.add_argument("--variant", default="auto", choices=("auto", "choreo", "orch"),
                        help="the variant behind --host, when its port is not a default one")
    parser.add_argument("--skip-audit", action="store_true", include_in_web_ui=False,
                        help="no audit after STOP (the caller audits: load/run.py)")
    # Set by the master at each test start and sent to its workers with the options.
    parser.add_argument("--run-tag", default="", include_in_web_ui=False, help="(internal)")
    parser.add_argument("--ledger-file", default="", include_in_web_ui=False, help="(internal)")


@events.init.add_listener
def on_init(environment, runner, web_ui, **_):
    """Stop before the swarm when the host does not answer (headless) or refuse Start (the web
    UI); wire the Sagas tab."""
    options = environment.parsed_options
    if options.headless and not options.worker:
        if (line := refusal(environment.host, options.variant, options.mix)) is not None:
            sys.stderr.write(f"{line}\n")
            sys.exit(2)
    sagas_tab.install(BOARD, environment)
    if web_ui is not None:
        sagas_tab.add_tab(BOARD, web_ui, refusal)
        gevent.spawn(sagas_tab.keep_live, BOARD, environment)


def refusal(host, variant, mix):
    """Return why a test cannot start (a wrong mix, a host that does not answer), or None."""
    try:
        parse_mix(mix)
    except ValueError as exc:
        return str(exc)
    return preflight.problem(host, variant)


def order_body(outcome, key):
    """Return the POST /orders body that ends in `outcome`, its customer named after its key:
    the ledger audit ties an order nobody was answered about to its key by the customer id."""
    (sku, quantity, card, country), _ = OUTCOMES[outcome]
    return {"customer_id": f"load-{key}", "items": [{"sku": sku, "quantity": quantity}],
            "payment": {"card_token": card}, "shipping_address": dict(ADDRESS, country=country)}


def parse_mix(text):
    """Return (outcomes, weights) from `completed=7,out_of_stock=1,...`."""
    pairs = [item.split("=") for item in text.replace(" ", "").split(",") if item]
    unknown = [name for name, *_ in pairs if name not in OUTCOMES]
    if unknown or not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"--mix {text!r}: give name=weight pairs of {list(OUTCOMES)}")
    return [name for name, _ in pairs], [float(weight) for _, weight in pairs]


class OrderUser(FastHttpUser):
    """A customer who places an order and waits for its outcome, again and again.

    FastHttpUser (geventhttpclient) instead of HttpUser (requests): the same user code at
    several times less CPU per request, so the load generator, which shares the machine with
    the services, takes less of it (every report shows its CPU apart).
    """

    def wait_time(self):
        return self.pacer(self)

    @task
    def place_order_and_wait(self):
        """POST an order of the mix, then wait until it is final (load/outcomes.py)."""
        outcome = random.choices(self.outcomes, self.weights)[0]
        started = time.perf_counter()
        key = f"{self.tag}{uuid.uuid4().hex}"
        order = self._post(key, order_body(outcome, key), outcome, started)
        if order is None:
            return
        if self.pacing:  # open loop: the next order does not wait for this one
            gevent.spawn(self._wait_final, order, started, OUTCOMES[outcome][1])
        else:
            self._wait_final(order, started, OUTCOMES[outcome][1])

    def _wait_final(self, order, started, expected):
        if order["status"] == "PENDING":
            order = self._wait(order["order_id"], started)
        if order is not None:
            self._fire_final(started, order, expected)

    def _post(self, key, body, outcome, started):
        self._record(key, body, outcome, None)  # sent: Locust may stop before the answer
        BOARD.sent()
        with self.client.post("/orders", json=body, name="POST /orders", catch_response=True,
                              headers={"Idempotency-Key": key}) as response:
            self._record(key, body, outcome, response)
            order = self._answered(response, outcome, started)
        self._pause()  # after the `with`: Locust has counted the request, as the tab has
        return order

    def _pause(self):
        """Pause as the last answer asked: a 429's Retry-After, or a backoff after no answer."""
        if self.pause_s:
            time.sleep(self.pause_s)
            self.pause_s = 0.0

    def _answered(self, response, outcome, started):
        """Return the order of an accepted POST; count any other answer (and pause after it)."""
        accepted = response.status_code in (201, 202)
        order = response.json() if accepted else None
        BOARD.answered(response.status_code, order, OUTCOMES[outcome][1],
                       time.perf_counter() - started)
        if response.status_code == 429:
            response.request_meta["name"] = "POST /orders [429 shed]"
            response.success()
            self.pause_s = float(response.headers.get("Retry-After", "1"))
        elif not accepted:
            response.failure(self._what_failed("POST /orders", response))
        return order

    def _what_failed(self, name, response):
        """Name what went wrong; after no answer at all, back off before the next request."""
        if response.status_code:
            self.backoff.succeeded()
            return f"{name} answered {response.status_code}"
        self.pause_s = self.backoff.failed()
        return f"{preflight.describe(response.error)} ({self.host})"

    def _wait(self, order_id, started):
        """Wait for the order until it is final (return it) or FINAL_WITHIN_S is over (None)."""
        left = FINAL_WITHIN_S - (time.perf_counter() - started)
        try:
            order = self.waits.wait(order_id, max(left, 0.1))
        except outcomes.UnknownOrder as exc:
            self._fire_final(started, None, "final", str(exc))
            return None
        if order is None:
            BOARD.gave_up(order_id)
            self._fire_final(started, None, "final", f"still PENDING after {FINAL_WITHIN_S:.0f}s")
        return order

    def _record(self, key, body, outcome, response):
        """Write the attempt (response None: sent, no answer yet) to the ledger, if any."""
        if self.ledger is not None and response is None:
            self.ledger.record(key, body["customer_id"], outcome, None)
        elif self.ledger is not None:
            accepted = response.status_code in (201, 202)
            self.ledger.record(key, body["customer_id"], outcome, response.status_code or None,
                               response.json()["order_id"] if accepted else None)

    def _fire_final(self, started, order, expected, error=None):
        if error is None and order["status"] != expected:
            error = f"ended {order['status']} ({order['reason']}), expected {expected}"
        BOARD.final(order, expected, time.perf_counter() - started,
                    AssertionError(error) if error else None)

    def on_start(self):
        """Read the options (mix, pacing), open the run's ledger if it keeps one."""
        options = self.environment.parsed_options
        self.outcomes, self.weights = parse_mix(options.mix)
        self.pacing = float(options.pacing or 0)
        self.pacer = constant_pacing(self.pacing) if self.pacing else constant(0)
        self.tag = f"{options.run_tag}-" if options.run_tag else ""
        self.ledger = sagas_tab.ledger_for(self.environment)
        self.backoff, self.pause_s = preflight.Backoff(), 0.0
        self.waits = outcomes_of(self.environment, self.host)  # shared by the process
