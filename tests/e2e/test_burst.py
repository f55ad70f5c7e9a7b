"""A burst of concurrent orders of every outcome: the ledger audit finds each one, exactly once,
ended as its body asked, and the invariants of docs/domain.md hold."""
from concurrent.futures import ThreadPoolExecutor
import threading

import requests

from audit.__main__ import audit_when_quiet, report
from audit.fetch import snapshot
from audit.ledger import read, tally
from tests.support import OUTCOMES, endings, new_ledger, post_recorded

BURST = 200
THREADS = 16


def test_a_burst_of_200_concurrent_orders_ends_exactly_as_asked(system, urls, audit_where,
                                                                  tmp_path):
    ledger, scope = new_ledger(tmp_path, "burst")
    names = list(OUTCOMES)
    local = threading.local()

    def post(n):
        if not hasattr(local, "session"):
            local.session = requests.Session()  # one session per thread: they are not thread-safe
        return post_recorded(local.session, urls["orders"], ledger, scope, n,
                             names[n % len(names)]).status_code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        statuses = list(pool.map(post, range(BURST)))
    assert all(s in (201, 202) for s in statuses), sorted(set(statuses))

    results, _ = audit_when_quiet(system.variant, urls, 120, ledger=ledger.path, **audit_where)
    assert report(results), [violations for _, _, violations in results if violations]
    counts = tally(read(ledger.path)[1], snapshot(urls))
    each = BURST // len(names)
    assert counts == {"sent": BURST, "accepted": BURST, "asked": dict.fromkeys(names, each),
                      "ended": endings(dict.fromkeys(names, each))}
