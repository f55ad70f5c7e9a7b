"""The invariants of docs/domain.md hold after a burst of concurrent orders of every outcome."""
from concurrent.futures import ThreadPoolExecutor
import threading

import requests

from audit.__main__ import audit_when_quiet, report
from tests.support import OUTCOMES

BURST = 200
THREADS = 16


def test_the_invariants_hold_after_a_burst_of_200_concurrent_orders(system, urls):
    bodies = [OUTCOMES[name][0] for name in OUTCOMES]
    local = threading.local()

    def post(n):
        if not hasattr(local, "session"):
            local.session = requests.Session()  # one session per thread: they are not thread-safe
        response = local.session.post(f"{urls['orders']}/orders", json=bodies[n % len(bodies)],
                                      timeout=60)
        return response.status_code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        statuses = list(pool.map(post, range(BURST)))
    assert all(s in (201, 202) for s in statuses), sorted(set(statuses))

    results = audit_when_quiet(urls, timeout_s=120)
    assert report(results), [violations for _, _, violations in results if violations]
    counts = dict(results[0][1])
    assert counts.get("COMPLETED", 0) >= BURST // 4 and counts.get("CANCELLED", 0) >= BURST // 2
