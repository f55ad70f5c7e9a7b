"""The retry policy of a saga step: what is retried, how often, and how long it waits."""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "orders-orch"))

from orchestrator.policy import (BROKEN, REJECTED, SUCCEEDED, TRANSIENT, Answer,  # noqa: E402
                                 classify, with_retries)
from orchestrator.steps import Retry  # noqa: E402


class FakeService:
    """Gives the queued answers one by one and remembers each call's timeout."""

    def __init__(self, *answers):
        self.answers, self.timeouts = list(answers), []

    def __call__(self, timeout):
        self.timeouts.append(timeout)
        return self.answers.pop(0)


def ok():
    return Answer(SUCCEEDED, 201, {})


def down():
    return Answer(TRANSIENT, error="ConnectTimeout")


def test_statuses_are_sorted_into_success_refusal_transient_and_broken():
    assert [classify(s, {}).kind for s in (200, 201, 409, 429, 500, 503, 400, 404, 422)] == [
        SUCCEEDED, SUCCEEDED, REJECTED, TRANSIENT, TRANSIENT, TRANSIENT, BROKEN, BROKEN, BROKEN]


def test_a_refusal_carries_the_business_reason_from_the_error_body():
    answer = classify(409, {"error": {"code": "out_of_stock", "message": "..."}})
    assert answer.code == "out_of_stock"


def test_a_transient_failure_is_retried_until_the_service_answers():
    service, sleeps = FakeService(down(), down(), ok()), []
    answer = with_retries(service, Retry(attempts=5, timeout_ms=700), sleep=sleeps.append)
    assert answer.kind == SUCCEEDED
    assert service.timeouts == [0.7, 0.7, 0.7] and len(sleeps) == 2


def test_a_business_refusal_is_never_retried():
    service = FakeService(Answer(REJECTED, 409, {}), ok())
    assert with_retries(service, Retry(attempts=5), sleep=lambda s: None).kind == REJECTED
    assert len(service.timeouts) == 1


def test_when_the_attempts_run_out_the_last_transient_answer_is_returned():
    service = FakeService(down(), down(), Answer(TRANSIENT, 503, {}, error="HTTP 503"))
    answer = with_retries(service, Retry(attempts=3), sleep=lambda s: None)
    assert answer.kind == TRANSIENT and answer.error == "HTTP 503"


def test_the_waits_grow_exponentially_with_jitter_and_stay_bounded():
    service, sleeps = FakeService(*[down() for _ in range(8)]), []
    with_retries(service, Retry(attempts=8, backoff_ms=100), sleep=sleeps.append)
    assert len(sleeps) == 7
    assert all(0.1 <= s <= 1.6 + 0.1 for s in sleeps)  # initial .. max (16x) plus jitter
    assert sleeps[-1] > sleeps[0]
    # Each wait is at least its exponential floor (100, 200, 400 ... ms, capped at 16x), in
    # every run: a constant wait plus jitter met the checks above in about half the runs.
    floors = [min(0.1 * 2 ** n, 1.6) for n in range(7)]
    assert all(s >= floor for s, floor in zip(sleeps, floors)), (sleeps, floors)
