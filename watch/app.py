"""The page's server: one HTML page, and a small JSON API the page polls once a second.

    GET  /                                 the page (static HTML, JS and CSS; nothing from a CDN)
    POST /api/<variant>/orders             {"outcome": "completed", "count": 1}: place orders
    GET  /api/<variant>/orders/<order_id>  the order and its timeline, as the variant tells it
    GET  /api/holding                      what each variant holds now (see holding.py)
    POST /api/control                      stop/start/slow/flaky/heal a service (loopback only)
"""
import threading
import time

import requests
from flask import Flask, abort, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from shared.runtime import config
from watch import control, holding, orders

VARIANTS = ("choreo", "orch")
HOLDING_FRESH_S = 0.8   # every open page polls; the numbers are read at most this often


def create_app():
    """Return the page's Flask app."""
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.extensions["watch"] = State()
    app.register_error_handler(HTTPException, _json_error)
    app.add_url_rule("/", "page", lambda: app.send_static_file("index.html"))
    app.add_url_rule("/favicon.ico", "favicon", lambda: ("", 204))
    app.add_url_rule("/api/outcomes", "outcomes", lambda: jsonify(list(orders.OUTCOMES)))
    app.add_url_rule("/api/<variant>/orders", "place", _place, methods=["POST"])
    app.add_url_rule("/api/<variant>/orders/<order_id>", "order", _order)
    app.add_url_rule("/api/holding", "holding", lambda: jsonify(app.extensions["watch"].holding()))
    app.add_url_rule("/api/control", "control", _control, methods=["POST"])
    return app


class State:
    """What the page's server remembers: 429s it was answered, the last numbers it read."""

    def __init__(self):
        self.lock = threading.Lock()
        self.shed = {variant: 0 for variant in VARIANTS}
        self.depths = holding.QueueDepths(config.amqp_url())
        self.last, self.read_at = None, 0.0

    def holding(self):
        """Return what each variant holds, read again when the last reading is too old."""
        with self.lock:
            if self.last is None or time.monotonic() - self.read_at > HOLDING_FRESH_S:
                with requests.Session() as http:
                    self.last = {"choreo": holding.choreo(http, self.depths),
                                 "orch": holding.orch(http, self.depths)}
                self.read_at = time.monotonic()
            return {variant: {**numbers, "shed": self.shed[variant]}
                    for variant, numbers in self.last.items()}


def _place(variant):
    _known(variant)
    body = request.get_json(silent=True) or {}
    outcome, how_many = body.get("outcome"), body.get("count", 1)
    if outcome not in orders.OUTCOMES:
        abort(400, f"outcome must be one of {', '.join(orders.OUTCOMES)}")
    if type(how_many) is not int or not 1 <= how_many <= orders.MAX_BURST:
        abort(400, f"count must be an integer from 1 to {orders.MAX_BURST}")
    answers = orders.place(variant, outcome, how_many)
    state = current_app.extensions["watch"]
    with state.lock:
        state.shed[variant] += sum(1 for a in answers if a["status"] == 429)
    return jsonify({"variant": variant, "outcome": outcome, "answers": answers})


def _order(variant, order_id):
    _known(variant)
    try:
        found = orders.read(variant, order_id)
    except requests.RequestException as exc:
        abort(502, f"the {variant} variant did not answer: {exc}")
    if found is None:
        abort(404, f"the {variant} variant has no order {order_id}")
    return jsonify(found)


def _control():
    try:
        variant, action, service = control.check(request.remote_addr, request.host,
                                                  request.get_json(silent=True))
    except control.Refused as refused:
        return jsonify({"error": {"code": refused.code, "message": refused.message}}), \
            refused.status
    return jsonify(control.run(variant, action, service))


def _known(variant):
    if variant not in VARIANTS:
        abort(404, f"no variant {variant!r}; choose one of {', '.join(VARIANTS)}")


def _json_error(exc):
    code = (exc.name or "error").lower().replace(" ", "_")
    return jsonify({"error": {"code": code, "message": exc.description}}), exc.code
