"""Small parts of `make bench` (load/bench.py, load/drain.py) and of its floor's report
(load/report.py) that need no running system."""
import collections
import time

from load import bench, drain, report

Times = collections.namedtuple("Times", "user system idle steal")


def test_the_stolen_share_is_steal_over_all_cpu_time_between_two_readings():
    before, after = Times(100, 50, 800, 50), Times(160, 70, 900, 70)
    assert bench._stolen_share(before, after) == 20 / 200
    assert bench._stolen_share(before, before) == 0.0


def test_paced_orders_leave_at_their_moments_whatever_the_answers_take(monkeypatch):
    sent = []

    def slow_post(_self, numbered):  # every answer takes 0.2 s, longer than the pace
        sent.append((numbered[0], time.monotonic()))
        time.sleep(0.2)
        return {"number": numbered[0]}
    monkeypatch.setattr(drain.Client, "_post", slow_post)
    records = drain.Client("http://unused", threads=8).place_paced(rate=20, seconds=1)
    assert [r["number"] for r in records] == list(range(20))
    first = sent[0][1]
    late = [at - first - number / 20 for number, at in sorted(sent)]
    assert max(late) < 0.1, "an order waited for the answers of the ones before it"


def test_the_floor_section_puts_each_variants_transport_cpu_per_order_beside_its_time():
    floor = {"amqp": {"p50_ms": 0.5, "p99_ms": 2.0, "per_s": 1500, "cpu_ms": 0.8},
             "http": {"p50_ms": 2.0, "p99_ms": 9.0, "per_s": 500, "cpu_ms": 1.5}}
    _title, table, lines, _rest = report.floor_blocks(floor, [])
    assert [row[-1] for row in table[2]] == ["0.80", "1.50"]
    assert "choreo: the same transports cost 5.5 CPU-ms per order" in lines[1]  # 5 hops + POST
    assert "orch: the same transports cost 12.0 CPU-ms per order" in lines[1]   # 8 calls
    older = {k: {m: v for m, v in f.items() if m != "cpu_ms"} for k, f in floor.items()}
    assert "CPU-ms" not in report.floor_blocks(older, [])[2][1]  # a report from before the CPU
