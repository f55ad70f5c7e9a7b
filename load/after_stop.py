"""After STOP (or the end of `-t`): the orders still in flight, the audit, the exit code.

When the users are stopped, some orders are still in flight: placed, not yet seen final. The
master (or the one process) waits up to `--stop-wait` seconds for each of them, its own and the
ones its workers reported, and counts each final or still PENDING: none is dropped silently.
Then, when the run kept a ledger, it audits the variant against it (audit/, as `make audit
LEDGER=` does) and puts the verdict on the Sagas tab. Headless, the outcome decides the exit
code: non-zero when an order ended not as asked, stayed PENDING, or the audit failed.
"""
import logging
import time
from pathlib import Path

import gevent
import requests
from gevent.pool import Pool
from locust.runners import MasterRunner, WORKER_REPORT_INTERVAL

from load import sagas, target
from load.sagas import STOPPED

log = logging.getLogger("sagas")


def run(board, environment, headless=False):
    """Wait for the orders in flight, audit against the ledger, and (headless) set the exit
    code and write the tab's CSV next to Locust's."""
    if isinstance(environment.runner, MasterRunner) and not headless:
        gevent.sleep(WORKER_REPORT_INTERVAL + 0.5)  # the workers' last counts arrive
    options = environment.parsed_options
    settle(board, environment.host, float(options.stop_wait))
    if options.ledger_file and not options.skip_audit:
        audit_run(board, environment.host, options)
    if headless:
        finish_headless(board, environment)


# Trade-off 94: after STOP the master itself waits for the orders in flight (the workers report
# their ids), rather than letting each user finish its task (Locust's --stop-timeout), so an
# open-loop order, waited for in a greenlet no user owns, and a worker's order after its process
# quit are counted too. It costs STOP up to --stop-wait seconds more before the verdict.
def settle(board, host, bound_s):
    """Wait up to `bound_s` for every order in flight at STOP; count each final or not. The
    orders are taken out of `in_flight` first: an open-loop user's wait, still going on in
    its own greenlet, then counts none of them a second time."""
    waiting, board.in_flight = board.in_flight, {}
    for orders in board.workers_in_flight.values():
        waiting.update(orders)
    board.workers_in_flight = {}
    if not waiting:
        return
    deadline, pool = time.monotonic() + bound_s, Pool(16)
    for order_id, (posted_at, expected) in waiting.items():
        pool.spawn(_await, board.tally, host, order_id, posted_at, expected, deadline)
    pool.join()
    still = board.tally.counts[STOPPED]
    board.note("after STOP", f"{len(waiting)} orders were in flight: {len(waiting) - still} "
               f"final, {still} still PENDING after {bound_s:.0f} s", len(waiting))


def _await(tally, host, order_id, posted_at, expected, deadline):
    """Wait for one order (GET /orders/<id>?wait) until final or the deadline; count it."""
    with requests.Session() as http:
        while (left := deadline - time.monotonic()) > 0:
            try:
                order = http.get(f"{host}/orders/{order_id}", timeout=left + 2,
                                 params={"wait": f"{min(5.0, left):.2f}"}).json()
            except (requests.RequestException, ValueError):
                order = None
            if isinstance(order, dict) and order.get("status") in ("COMPLETED", "CANCELLED"):
                tally.final(order, expected, (time.time() - posted_at) * 1000)
                return
            gevent.sleep(0.2)
    tally.count(STOPPED)


def audit_run(board, host, options):
    """Audit the variant against the run's ledger (docs/domain.md's invariants, and the
    ledger's: every accepted order once, final, as asked); note the verdict on the tab."""
    found = target.services(host, options.variant)
    if found is None:
        board.note("audit", "not run: the variant behind --host is unknown; give --variant")
        return
    style, urls = found
    board.audit_ok, text = target.audit(style, urls, options.ledger_file,
                                        wait_s=float(options.stop_wait) + 30)
    lines = [line for line in text.splitlines() if line.strip()]
    wrong = [line for line in lines if not line.startswith("ok")]
    verdict = "passed" if board.audit_ok else "FAILED"
    board.note("audit", f"{verdict}: {len(lines) - len(wrong)} checks of make audit hold"
               + (f"; {'; '.join(wrong)}" if wrong else "") + f" (ledger {_shown(options.ledger_file)})")
    log.info("audit of the run's ledger %s:\n%s", verdict, text)


def _shown(path):
    """Return a ledger's path from the repository's root when it lies inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path(__file__).resolve().parent.parent))
    except ValueError:
        return str(path)


def exit_code(board):
    """Return 1 when the run must fail a CI job (load/sagas.py failing()), else None: then
    Locust's own rule stands (1 when any request or saga failed, else 0)."""
    reasons = sagas.failing(board.tally.counts, board.audit_ok)
    if reasons:
        log.error("the run fails: %s", "; ".join(reasons))
    return 1 if reasons else None


def finish_headless(board, environment):
    """Print the tab, write it next to Locust's CSVs, set the exit code."""
    text = sagas.as_csv(board.rows())
    log.info("Sagas:\n%s", text)
    prefix = environment.parsed_options.csv_prefix
    if prefix:
        Path(f"{prefix}_sagas.csv").write_text(text)
    code = exit_code(board)
    if code is not None:
        environment.process_exit_code = code
