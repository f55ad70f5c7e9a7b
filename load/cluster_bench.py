"""The price of a broker cluster: one variant under compose on one RabbitMQ node with classic
queues, then on three nodes with quorum queues (`make bench-cluster`), the same drain each run.

    python -m load.cluster_bench --variant choreo --orders 500 --runs 3
    python -m load.cluster_bench --variant orch-amqp --orders 50 --runs 1     (a smoke run)

Each setting is started from nothing (`deploy/compose.sh down`, then up with CLUSTER=1 or 3)
and warmed up with a few orders; then each run places ORDERS from 16 client threads and waits
until every one is final. Per run: orders finished a second (first POST to last final),
CPU per order (every container of the project but Locust, from its cgroup's CPU counter:
the broker nodes, the services, PostgreSQL), and the p99 of the POST's answer and of the
order's completion (POST to final status). The table gives each figure as the median run
with the range of the runs (load/spread.py), and says whether the two settings differ by
more than that range.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

from load.bench import _completions, _final_orders, _percentiles
from load.drain import Client
from load import record, report, spread
from shared.runtime import config

ROOT = config.repo_root()
SETTINGS = {"one node, classic": "1", "three nodes, quorum": "3"}
WARM_UP = 20
THREADS = 16
FIGURES = (("finished_per_s", "orders/s", 1), ("cpu_ms_per_order", "CPU ms/order", 1),
           ("post_p99_ms", "POST p99 ms", 0), ("completion_p99_ms", "completion p99 ms", 0))


def compose_env(variant, cluster):
    """The environment deploy/compose.sh gets for a setting."""
    extra = {} if variant == "choreo" else {"ORCH_TRANSPORT": "amqp"}
    return dict(os.environ, CLUSTER=cluster, **extra)


def project_containers():
    """Return the ids of the project's running containers, Locust's left out."""
    ids = subprocess.run(["docker", "ps", "-q", "--filter",
                          "label=com.docker.compose.project=orders-saga"],
                         capture_output=True, text=True, check=True).stdout.split()
    return [i for i in ids if "locust" not in _service(i)]


def _service(container_id):
    return subprocess.run(["docker", "inspect", "-f",
                           '{{index .Config.Labels "com.docker.compose.service"}}',
                           container_id], capture_output=True, text=True).stdout.strip()


def cpu_s(container_ids):
    """Return the CPU seconds the containers used so far, from each one's cgroup counter."""
    return sum(_container_cpu_s(i) for i in container_ids)


def _container_cpu_s(container_id):
    full = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", container_id],
                          capture_output=True, text=True).stdout.strip()
    for path in glob.glob(f"/sys/fs/cgroup/cpuacct/docker/{full}/cpuacct.usage"):  # v1
        return int(open(path).read()) / 1e9
    for path in (glob.glob(f"/sys/fs/cgroup/system.slice/docker-{full}.scope/cpu.stat")
                 + glob.glob(f"/sys/fs/cgroup/docker/{full}/cpu.stat")):  # cgroup v2
        return int(dict(line.split() for line in open(path))["usage_usec"]) / 1e6
    raise RuntimeError(f"no cgroup CPU counter for container {container_id}")


def one_run(url, orders):
    """Place `orders` orders and wait for them; return the run's figures."""
    containers = project_containers()
    cpu_before, started = cpu_s(containers), time.monotonic()
    posts = Client(url, THREADS).place(orders)
    wanted = {p["order_id"] for p in posts if p["order_id"]}
    finals = _wait_final(url, wanted)
    took = time.monotonic() - started
    used = cpu_s(containers) - cpu_before
    return {"orders": orders, "finished_per_s": round(len(finals) / took, 2),
            "cpu_ms_per_order": round(used * 1000 / max(len(finals), 1), 1),
            "post_p99_ms": _percentiles([p["ms"] for p in posts])["p99"],
            "completion_p99_ms": _percentiles(_completions(posts, finals))["p99"],
            "not_final": len(wanted) - len(finals)}


def _wait_final(url, wanted, timeout=600):
    deadline = time.monotonic() + timeout
    while True:
        found = _final_orders(url, wanted)
        final = {i: o for i, o in found.items() if o["status"] != "PENDING"}
        if len(final) == len(wanted) or time.monotonic() > deadline:
            return final
        time.sleep(0.5)


def bench_setting(variant, cluster, orders, runs, log):
    """Start the variant on one setting, warm it up, measure `runs` runs; take it down."""
    style = "choreo" if variant == "choreo" else "orch"
    url = f"http://127.0.0.1:{config.DEFAULT_PORTS[style]['orders']}"
    env = compose_env(variant, cluster)
    subprocess.run(["deploy/compose.sh", "down"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["deploy/compose.sh", "up", style], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=900)
    try:
        one_run(url, WARM_UP)
        repeats = []
        for number in range(runs):
            repeats.append(one_run(url, orders))
            log(f"  run {number + 1}: {json.dumps(repeats[-1])}")
        return {"repeats": repeats}
    finally:
        subprocess.run(["deploy/compose.sh", "down"], cwd=ROOT, capture_output=True)


def table(results):
    """Return the markdown table: each figure's median (range) per setting, and the verdict."""
    names = list(results)
    lines = ["| figure | " + " | ".join(names) + " | cluster vs one node |",
             "|---" * (len(names) + 2) + "|"]
    for key, label, digits in FIGURES:
        cells = [spread.text(results[n], key, digits) for n in names]
        verdict = spread.compare(*(spread.values(results[n], key) for n in reversed(names)))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {verdict} |")
    return "\n".join(lines)


def figures(results):
    """Return the record's figures: per setting, each figure's median and range over the runs."""
    return {name: {"runs": len(setting["repeats"]),
                   **{key: record.spread([r[key] for r in setting["repeats"]], digits)
                      for key, _label, digits in FIGURES}}
            for name, setting in results.items()}


def settings(variant, orders, runs):
    """Return the record's settings."""
    return {"variant": variant, "orders": orders, "runs": runs, "client_threads": THREADS,
            "db": "postgres", "settings": {name: f"CLUSTER={n}" for name, n in SETTINGS.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m load.cluster_bench")
    parser.add_argument("--variant", choices=("choreo", "orch-amqp"), default="choreo")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    machine, ran, results = report.machine(), record.commit(), {}
    for name, cluster in SETTINGS.items():
        print(f"{args.variant} on {name} (CLUSTER={cluster}):", flush=True)
        results[name] = bench_setting(args.variant, cluster, args.orders, args.runs, print)
    folder = ROOT / "reports" / f"bench-cluster-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    folder.mkdir(parents=True, exist_ok=True)
    text = (f"# {args.variant}: one node against a three-node cluster\n\n{args.orders} orders "
            f"a run, {args.runs} run(s), {THREADS} client threads\n\n{table(results)}\n")
    (folder / "results.md").write_text(text)
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    record.write(folder, "bench-cluster", machine, settings(args.variant, args.orders, args.runs),
                 figures(results), ran=ran)
    print(f"\n{table(results)}\n\nreport: {folder / 'results.md'}")
    return 0 if all(r["not_final"] == 0 for s in results.values() for r in s["repeats"]) else 1


if __name__ == "__main__":
    sys.exit(main())
