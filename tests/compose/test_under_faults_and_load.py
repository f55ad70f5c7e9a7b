"""Run last in each profile (after test_scenarios.py): a killed container brought back by its
restart policy with every order finished and the invariants intact, then a short Locust run
from the compose Locust service."""
from concurrent.futures import ThreadPoolExecutor
import os
import re
import signal
import threading
import time

import requests

from tests.compose.conftest import run
from tests.support import OUTCOMES, wait_final, wait_for

BURST = 60
KILLED = {"choreo": "choreo-payments-worker", "orch": "orch-payments-api"}


def test_a_killed_container_comes_back_by_its_restart_policy_and_no_order_is_lost(system, urls):
    """SIGKILL the main process of a payments container (a crash, as Docker sees it) while a
    burst is placed; Docker restarts it, every order ends, and `make audit` passes."""
    victim = system.container(KILLED[system.variant])
    restarts = system.inspect(victim)["RestartCount"]
    bodies = [OUTCOMES[name][0] for name in OUTCOMES]
    local, placed = threading.local(), []

    def post(n):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        if n == BURST // 3:  # a third of the way in
            os.kill(system.inspect(victim)["State"]["Pid"], signal.SIGKILL)
        answer = local.session.post(f"{urls['orders']}/orders", json=bodies[n % len(bodies)],
                                    timeout=60)
        placed.append(answer)
        return answer.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, range(BURST)))
    assert all(s in (201, 202) for s in statuses), sorted(set(statuses))

    wait_for(lambda: system.inspect(victim)["RestartCount"] > restarts, timeout=60,
             message="the restart policy to restart the killed container")
    wait_for(lambda: system.inspect(victim)["State"].get("Health", {}).get("Status") == "healthy",
             timeout=120, message="the restarted container to be healthy")
    with requests.Session() as session:
        finals = [wait_final(session, urls["orders"], a.json()["order_id"], timeout=120)
                  for a in placed]
    assert {f["status"] for f in finals} <= {"COMPLETED", "CANCELLED"}

    audited = run("make", "audit", f"VARIANT={system.variant}", check=False, timeout=180)
    assert audited.returncode == 0, audited.stdout + audited.stderr


def test_a_short_headless_locust_run_from_the_compose_locust_service_has_no_failures(system):
    service = f"{system.variant}-locust"
    host = {"choreo": "http://choreo-orders-api:8001", "orch": "http://orch-orders-api:8002"}
    started = time.monotonic()
    ran = run(*system.compose, "exec", "-T", service, "python", "-m", "locust", "-f",
              "load/locustfile.py", "--headless", "--users", "8", "--spawn-rate", "4",
              "--run-time", "15s", "--only-summary", "--host", host[system.variant],
              check=False, timeout=120)
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output[-3000:]
    aggregated = re.search(r"Aggregated\s+(\d+)\s+(\d+)\(", output)
    assert aggregated, output[-3000:]
    requests_made, failures = map(int, aggregated.groups())
    assert requests_made > 0 and failures == 0, output[-3000:]
    print(f"\nlocust in {service}: {requests_made} requests in "
          f"{time.monotonic() - started:.0f}s, {failures} failures")
