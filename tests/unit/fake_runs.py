"""Fabricated load runs for the claims' tests: a run folder of the outage scenario as load/run.py
writes it (run.json, Locust's CSVs, the samples, the ledger), and summaries of other runs as
load/results.py returns them, with only the figures each test sets."""
import json

T0 = 1_000_000.0                 # the wall clock at the start of the load
DOWN, UP, SECONDS = 10.0, 30.0, 40


def outage_run(folder, variant, answers, pending_at_restart=0, audit_ok=True, timed=True):
    """Write one outage run: 4 orders/s all along, each POST sent during the outage answered as
    `answers` says ([(status, ms)]); `pending_at_restart` orders PENDING from 12 s to 30 s."""
    folder.mkdir(parents=True)
    facts = {"scenario": "outage", "variant": variant, "seconds": SECONDS, "users": 16,
             "pacing": 4, "replicas": 1, "env": {}, "outage": [DOWN, UP], "t0": T0,
             "events": [[DOWN, "stop", "payments"], [UP, "start", "payments"]], "drained_s": 5.0,
             "cpu_s": {"orders-api": 4.0, "locust": 1.0}, "orders": {"COMPLETED": 160},
             "ledger": {}, "audit_ok": audit_ok, "audit": "ok"}
    (folder / "run.json").write_text(json.dumps(facts))
    slowest = max(ms for _, ms in answers)
    _csv(folder / "locust_stats.csv", ["Type", "Name", "Request Count", "Failure Count",
                                        "50%", "95%", "99%"],
         [["POST", "POST /orders", 160, 0, 20, slowest, slowest],
          ["SAGA", "order final", 160, 0, 300, 900, 20000]])
    _csv(folder / "locust_stats_history.csv", ["Timestamp", "User Count", "Name",
                                                "Total Request Count", "Total Failure Count",
                                                "50%", "95%"],
         [[T0 + t, 16, name, 4 * t, 0, 20, slowest if DOWN <= t <= UP else 20]
          for t in range(1, SECONDS + 1) for name in ("POST /orders", "order final")])
    _csv(folder / "samples_pending.csv", ["t", "pending"],
         [[t, pending_at_restart if 12 <= t <= UP else 0] for t in range(SECONDS + 1)])
    _csv(folder / "samples_queues.csv", ["t", "queue", "depth"], [])
    _ledger(folder / "ledger.jsonl", answers, timed)
    return folder


def _ledger(path, answers, timed):
    lines = [{"scope": ""}]
    for i, (status, ms) in enumerate(answers):
        sent = T0 + DOWN + 1 + i * 0.1
        for at, code in ((sent, None), (sent + ms / 1000, status)):
            line = {"key": f"k{i}", "customer_id": f"load-k{i}", "expect": "completed",
                    "status": code, "order_id": f"o{i}" if code else None}
            lines.append({**line, "at": at} if timed else line)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def _csv(path, header, rows):
    path.write_text("\n".join(",".join(str(c) for c in row) for row in [header] + rows) + "\n")


def summary(finished_per_s=20.0, **figures):
    """Return a run's summary with the figures a claim reads; `figures` override them."""
    return {"finished_per_s": finished_per_s, "peak_per_s": finished_per_s, "users": 24,
            "final": {50: 900, 95: 1500}, "post": {95: 40, 99: 60}, "cpu_ms_per_order": 60,
            "env": {}, "shed": 0, "shed_ms": {50: None, 95: None}, "errors": 0,
            "audit_ok": True, "replicas": 1, "queue_peaks": {}, "seconds": SECONDS,
            "drained_s": 5.0, "cpu_s": {"orders-api": 30.0, "locust": 10.0},
            "machine_cores": 2, **figures}


def budget(used, cores=None, throttled=None, mode="cgroup-v2"):
    """Return a run's `budget` facts: `used` {who: cores used}, each with a budget of 1 core
    unless `cores` says otherwise."""
    return {"mode": mode, "reason": "fabricated" if mode != "off" else "no cgroup here",
            "period_ms": 100,
            "cores": {w: (None if mode == "off" else (cores or {}).get(w, 1.0)) for w in used},
            "used_cores": dict(used), "throttled": {w: (throttled or {}).get(w) for w in used}}
