"""The fault catalogue's load holds the rest of its orders until the fault is in place, so a
fault that sets in slowly (a broker's stop on a busy machine) still has orders arriving while
it lasts."""
import threading
import time

from audit.ledger import Ledger
from chaos.load import Load


class RecordingLoad(Load):
    """The load with its HTTP call replaced: every order is accepted at once, and recorded."""

    def __init__(self, *args, **kwargs):
        super().__init__("http://127.0.0.1:1", *args, **kwargs)
        self.bodies, self._seen = [], threading.Lock()

    def _post(self, session, body, headers):
        with self._seen:
            self.bodies.append(body["customer_id"])
        return 202, f"order-{headers['Idempotency-Key']}"


def placed(load):
    with load._seen:
        return sorted(int(customer.rsplit("-", 1)[1]) for customer in load.bodies)


def test_orders_from_the_hold_on_wait_for_release_and_then_all_go(tmp_path):
    load = RecordingLoad("t", Ledger(tmp_path / "l.jsonl", "t-"), total=8, rate=400.0,
                         hold_at=3, seconds=30).start()
    time.sleep(0.5)  # at 400/s the whole load would be done many times over
    assert placed(load) == [0, 1, 2]
    load.release()
    load.join(timeout=10)
    assert placed(load) == list(range(8))
    assert len(load.accepted) == 8 and load.sent == 8


def test_without_a_hold_the_load_never_waits(tmp_path):
    load = RecordingLoad("t", Ledger(tmp_path / "l.jsonl", "t-"), total=8, rate=400.0,
                         seconds=30).start()
    load.join(timeout=10)
    assert placed(load) == list(range(8))


def test_join_with_a_timeout_returns_while_orders_are_still_held(tmp_path):
    load = RecordingLoad("t", Ledger(tmp_path / "l.jsonl", "t-"), total=4, rate=400.0,
                         hold_at=0, seconds=30).start()
    started = time.monotonic()
    load.join(timeout=0.3)
    assert time.monotonic() - started < 5 and placed(load) == []
    load.release()
    load.join(timeout=10)
    assert placed(load) == [0, 1, 2, 3]
