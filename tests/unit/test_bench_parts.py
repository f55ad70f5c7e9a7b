"""Small parts of `make bench` (load/bench.py, load/drain.py) that need no running system."""
import collections
import time

from load import bench, drain

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
