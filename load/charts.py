"""The report's charts (matplotlib PNGs): per scenario, every variant on the same axes.

Panels: finished orders/s and users over time; p95 latency of POST and of completion over
time; the backlog (PENDING orders, and the choreographed queues); CPU per service per order.
"""
import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from load import results, spread  # noqa: E402

COLOURS = {"choreo": "tab:blue", "orch": "tab:orange", "orch-amqp": "tab:green"}
WIDTH = 0.8 / len(COLOURS)  # one bar per variant, side by side


def scenario_chart(name, runs, path):
    """Draw one scenario's four panels for its runs ({variant: (folder, summary)}); save to path."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5))
    fig.suptitle(f"scenario: {name}")
    users_ax = axes[0][0].twinx()
    users_ax.set_ylabel("users (dashed)")
    for variant, (folder, summary) in runs.items():
        found = results.series(folder, summary["t0"])
        colour = COLOURS[variant]
        _throughput(axes[0][0], users_ax, found, variant, colour)
        _latency(axes[0][1], found, variant, colour)
        _backlog(axes[1][0], folder, variant, colour)
        for event_at, action, _ in summary["events"]:
            for ax in (axes[0][0], axes[0][1], axes[1][0]):
                ax.axvline(event_at, color=colour, linestyle=":", linewidth=1)
                ax.annotate(action, (event_at, 0), fontsize=7, color=colour)
    _cpu(axes[1][1], runs)
    for ax in axes.flat:
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _throughput(ax, users_ax, found, variant, colour):
    points = found.get(results.FINAL, [])
    rates = results.rate(points)
    ax.plot([t for t, _ in rates], [r for _, r in rates], color=colour, label=f"{variant} final/s")
    users_ax.plot([p[0] for p in points], [p[1] for p in points], color=colour, linestyle="--",
                  linewidth=0.8)
    ax.set(title="finished orders/s (5 s window)", xlabel="s", ylabel="orders/s")


def _latency(ax, found, variant, colour):
    for entry, style in ((results.POST, "--"), (results.FINAL, "-")):
        points = [(p[0], p[5]) for p in found.get(entry, []) if p[5]]
        ax.plot([t for t, _ in points], [v for _, v in points], color=colour, linestyle=style,
                label=f"{variant} {entry} p95")
    ax.set(title="p95 latency (Locust's rolling window)", xlabel="s", ylabel="ms")


def _backlog(ax, folder, variant, colour):
    pending = [(float(r["t"]), int(r["pending"])) for r in results.samples(folder, "pending")
               if r["pending"]]
    ax.plot([t for t, _ in pending], [n for _, n in pending], color=colour,
            label=f"{variant} orders PENDING")
    depth = {}
    for row in results.samples(folder, "queues"):
        if row["depth"]:
            depth[float(row["t"])] = depth.get(float(row["t"]), 0) + int(row["depth"])
    if depth:
        ax.plot(list(depth), list(depth.values()), color=colour, linestyle="--",
                label=f"{variant} messages in queues")
    ax.set(title="backlog", xlabel="s", ylabel="count")


def _cpu(ax, runs):
    services = sorted({s for _, summary in runs.values()
                       for s in results.cpu_by_service(summary["cpu_s"])})
    width = 0.8 / max(len(runs), 1)
    for i, (variant, (_, summary)) in enumerate(runs.items()):
        orders = max(sum(summary["orders"].values()), 1)
        cpu = results.cpu_by_service(summary["cpu_s"])
        ax.bar([x + i * width for x in range(len(services))],
               [cpu.get(s, 0) * 1000 / orders for s in services], width,
               color=COLOURS[variant], label=variant)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(services))], services, rotation=30,
                  fontsize=8)
    ax.set(title="CPU ms per order, per process (locust: the load generator)", ylabel="ms")


def summary_chart(summaries, path):
    """Draw peak finished orders/s (the median of the runs, as the table shows it) and
    completion p95 per scenario and variant; save to path."""
    scenarios = list(dict.fromkeys(s["scenario"] for s in summaries))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for i, variant in enumerate(COLOURS):
        mine = {s["scenario"]: s for s in summaries if s["variant"] == variant}
        xs = [x + i * WIDTH for x in range(len(scenarios))]
        axes[0].bar(xs, [spread.median(mine[n], "peak_per_s") if n in mine else 0
                         for n in scenarios], WIDTH,
                    color=COLOURS[variant], label=variant)
        axes[1].bar(xs, [(mine.get(n, {}).get("final") or {}).get(95) or 0 for n in scenarios],
                    WIDTH, color=COLOURS[variant], label=variant)
    for ax, title in zip(axes, ("peak finished orders/s", "completion p95 (ms)")):
        ax.set_xticks([x + 0.4 - WIDTH / 2 for x in range(len(scenarios))], scenarios)
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
