"""The Sagas tab and what feeds it: the load user's orders, Locust's workers, Locust's web UI.

One `Board` per Locust process. The user tells it of every order (sent, answered, final); it
counts them (load/sagas.py) and logs the saga's time to Locust's `order final` entry, the entry
load/results.py and the reports read. A worker sends its counts to the master with every report
(`report_to_master` / `worker_report`), so the master's tab shows the whole swarm's orders.

What happens after STOP (the orders in flight, the audit, the exit code) is load/after_stop.py.
"""
import logging
import os
import time
import uuid
from pathlib import Path

import gevent
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import StatsError

from audit.ledger import Ledger
from load import after_stop, sagas, target
from load.sagas import FAILED, PENDING, PLACED, SENT, SHED, Tally
from shared.runtime import config

FINAL_ENTRY, SAGA = "order final", "SAGA"  # the Locust entry load/results.py reads
log = logging.getLogger("sagas")


class Board:
    """One Locust process's view of its orders: the tally, the orders placed and not final yet
    ({order_id: (POST wall time, expected status)}), and on the master the workers' ones."""

    def __init__(self):
        self.tally, self.in_flight, self.workers_in_flight = Tally(), {}, {}
        self.notes, self.live, self.environment, self.audit_ok = [], [], None, None
        self.last_counts_from = set()  # on a headless master: the workers whose last counts came

    def reset(self):
        """Start a new test: nothing counted, nothing in flight."""
        self.tally, self.in_flight, self.workers_in_flight = Tally(), {}, {}
        self.notes, self.audit_ok, self.last_counts_from = [], None, set()

    # -- told by the user -------------------------------------------------------------------
    def sent(self):
        self.tally.count(SENT)

    def answered(self, status, order, expected, elapsed_s):
        """Count a POST's answer: placed (and in flight until final), shed, or failed."""
        if status in (201, 202):
            self.tally.count(PLACED)
            self.in_flight[order["order_id"]] = (time.time() - elapsed_s, expected)
        else:
            self.tally.count(SHED if status == 429 else FAILED)

    def final(self, order, expected, elapsed_s, error=None):
        """Count an order seen final (order) or given up on (None), and log it to Locust. An
        order no longer in flight was counted already (after STOP, by `settle`)."""
        if order is not None and self.in_flight.pop(order["order_id"], None) is not None:
            self.tally.final(order, expected, elapsed_s * 1000)
        log_final(self.environment.stats, elapsed_s * 1000, error)

    def gave_up(self, order_id):
        """Count an order the user stopped waiting for, still PENDING."""
        if self.in_flight.pop(order_id, None) is not None:
            self.tally.count(PENDING)

    # -- the tab ----------------------------------------------------------------------------
    def rows(self):
        """Return the tab's rows: the counts, then the variant's live state, then the notes."""
        return self.tally.rows() + self.live + self.notes

    def note(self, what, text, count=""):
        self.notes.append({"what": what, "count": count, "note": text})


BOARD = Board()  # this process's orders: the user counts into it, the tab reads it


# Trade-off 92: a saga's time to final is logged to its own Locust entry (`order final`, type
# SAGA) but not to Locust's total, so the header's RPS and the Aggregated row count HTTP
# requests only, while the entry still reaches Locust's CSV, HTML report and workers' reports.
# It costs a Statistics table whose Aggregated row is no longer the sum of the rows above it.
def log_final(stats, ms, error=None):
    """Log one saga's end to the `order final` entry (and Locust's failures when it ended wrong),
    leaving `stats.total` alone."""
    entry = stats.get(FINAL_ENTRY, SAGA)
    entry.log(ms, 0)
    if error:
        entry.log_error(error)
        key = StatsError.create_key(SAGA, FINAL_ENTRY, error)
        stats.errors.setdefault(key, StatsError(SAGA, FINAL_ENTRY, error)).occurred()


# -- Locust's events ----------------------------------------------------------------------------
def install(board, environment):
    """Wire the board to Locust's events for this process's role (local, master or worker)."""
    board.environment = environment
    events = environment.events
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        events.report_to_master.add_listener(lambda client_id, data: _report(board, data))
        events.test_start.add_listener(lambda **_: board.reset())
        runner.register_message(STOP_AND_COUNT, lambda **_: _stop_and_count(board, runner),
                                concurrent=True)
        return
    headless = bool(environment.parsed_options and environment.parsed_options.headless)
    if isinstance(runner, MasterRunner):
        events.worker_report.add_listener(lambda client_id, data: _merge(board, client_id, data))
        if headless:
            runner.register_message(LAST_COUNTS, lambda msg, **_: _last_counts(board, msg))
            events.test_stop.add_listener(lambda **_: _collect_last_counts(board, runner))
    events.test_start.add_listener(lambda **_: _start(board, environment))
    if headless:
        events.quitting.add_listener(
            lambda **_: after_stop.run(board, environment, headless=True))
    else:
        events.test_stop.add_listener(
            lambda **_: gevent.spawn(after_stop.run, board, environment))


def _report(board, data):
    """A worker's report: what it counted since the last one, and its orders in flight."""
    data["sagas"] = board.tally.take()
    data["sagas_in_flight"] = {k: list(v) for k, v in board.in_flight.items()}


def _merge(board, client_id, data):
    if "sagas" in data:
        board.tally.merge(data["sagas"])
        board.workers_in_flight[client_id] = data["sagas_in_flight"]


# Trade-off 109: at the end of a headless run Locust's master tells its workers to quit and
# waits half a second for their last reports; on a busy machine a worker's came later, and the
# tab counted 153 orders sent where the ledger held 170 (seen in CI). So the master first asks
# each worker, with a message of its own, to stop its users and send its last counts, and
# waits for every answer (at most LAST_COUNTS_WITHIN_S); the tab says how many answered. The
# price: the end of a headless run with workers waits for them.
STOP_AND_COUNT, LAST_COUNTS, LAST_COUNTS_WITHIN_S = "sagas_stop_and_count", "sagas_last_counts", 30


def _stop_and_count(board, runner):
    """On a worker: stop the users (nothing more is sent), then send the last counts."""
    runner.stop()
    data = {}
    _report(board, data)
    runner.send_message(LAST_COUNTS, data)


def _last_counts(board, msg):
    _merge(board, msg.node_id, msg.data)
    board.last_counts_from.add(msg.node_id)


def _collect_last_counts(board, runner):
    """On a headless master, at the test's stop: every worker's last counts, before it quits."""
    asked = {client.id for client in runner.clients.all}
    for client_id in asked:
        runner.send_message(STOP_AND_COUNT, None, client_id)
    deadline = time.monotonic() + LAST_COUNTS_WITHIN_S
    while not asked <= board.last_counts_from and time.monotonic() < deadline:
        gevent.sleep(0.1)
    if not asked:
        return
    answered = len(asked & board.last_counts_from)
    board.note("workers", f"{answered} of {len(asked)} workers sent their last counts" + (
        "" if answered == len(asked) else f" within {LAST_COUNTS_WITHIN_S} s: the tab may count "
                                          f"fewer orders than were sent"), len(asked))


def _start(board, environment):
    """A new test on the master (or alone): a fresh board, a run tag for the order keys, and
    the ledger, which the workers receive with the options."""
    board.reset()
    options = environment.parsed_options
    options.run_tag = uuid.uuid4().hex[:8]
    options.ledger_file = start_ledger(options.ledger, options.run_tag)


# Trade-off 93: the ledger is on by default in `make load-*`, its scope the test's own customer
# prefix (`load-<run tag>-`), so the audit after STOP judges this test's orders on a variant that
# also served earlier tests and other clients. It costs the audit's "no order nobody asked for"
# reach: a duplicate made under another prefix is not this ledger's to find.
def start_ledger(asked, tag):
    """Return the ledger file of this test ("" for none). `auto`: a new file under var/load/
    whose scope is this test's customers; a path that already holds a ledger (load/run.py
    started it) is appended to; a new path is started with this test's scope."""
    if not asked:
        return ""
    path = (config.var_dir() / "load" / f"ledger-{time.strftime('%Y%m%d-%H%M%S')}-{tag}.jsonl"
            if asked == "auto" else Path(asked))
    if not (path.exists() and path.stat().st_size):
        Ledger(path, scope=f"load-{tag}-")
    return str(path.resolve())


def ledger_for(environment):
    """Return the Ledger the users of this process write to (None without one)."""
    path = getattr(environment.parsed_options, "ledger_file", "")
    return Ledger(path) if path else None


# -- the web UI --------------------------------------------------------------------------------
TAB = "sagas"
STRUCTURE = [{"key": "what", "title": "What"}, {"key": "count", "title": "Count"},
             {"key": "p50", "title": "p50 ms"}, {"key": "p95", "title": "p95 ms"},
             {"key": "p99", "title": "p99 ms"}, {"key": "note", "title": "Note"}]


def add_tab(board, web_ui, refusal):
    """Add the Sagas tab and its CSV download to Locust's UI, and a check of Start:
    `refusal(host, variant, mix)` returns why a test cannot start, shown instead of starting."""
    from flask import Response, jsonify, request
    web_ui.template_args.update(
        extended_tabs=[{"title": "Sagas", "key": TAB}],
        extended_tables=[{"key": TAB, "structure": STRUCTURE}],
        extended_csv_files=[{"href": "./sagas/csv", "title": "Download the Sagas table (CSV)"}])

    @web_ui.app.route("/sagas/csv")
    def sagas_csv():
        return Response(sagas.as_csv(board.rows()), mimetype="text/csv", headers={
            "Content-Disposition": "attachment; filename=sagas.csv"})

    @web_ui.app.after_request
    def with_sagas(response):
        if request.path.endswith("/stats/requests") and response.is_json:
            response.set_data(web_ui.app.json.dumps(
                {**response.get_json(), "extended_stats": [{"key": TAB, "data": board.rows()}]}))
        return response

    @web_ui.app.before_request
    def check_host_before_start():
        if request.method == "POST" and request.path.endswith("/swarm"):
            options = web_ui.environment.parsed_options
            host = request.form.get("host") or web_ui.environment.host
            line = refusal(host, request.form.get("variant") or options.variant,
                           request.form.get("mix") or options.mix)
            if line is not None:
                log.error(line)
                return jsonify({"success": False, "message": line, "host": host})
        return None


def keep_live(board, environment, every_s=2.0):
    """While the UI is up, read the variant's live state every few seconds (load/target.py)."""
    while True:
        found = target.services(environment.host, environment.parsed_options.variant)
        board.live = target.live_rows(*found) if found else []
        gevent.sleep(every_s)


def ledger_default():
    """Return the ledger option's default: LOAD_LEDGER, else none."""
    return os.environ.get("LOAD_LEDGER", "")
