"""How one call is tried: transient failures are retried with exponential backoff and jitter;
answers (a success, a business refusal) end the call at once.

Transient: a timeout, a refused connection, a 5xx, a 429. A business refusal is a 409 from a
step that may refuse. Anything else (another 4xx) is a broken call: retrying it now would give
the same answer, so the saga is left for recovery and shows up as stuck.
"""
from dataclasses import dataclass

import tenacity

from shared.runtime import config

SUCCEEDED, REJECTED, TRANSIENT, BROKEN = "succeeded", "rejected", "transient", "broken"


@dataclass(frozen=True)
class Answer:
    """What came back from one call: its kind, HTTP status and JSON body, or the error."""
    kind: str
    status: int | None = None
    body: dict | None = None
    error: str | None = None

    @property
    def code(self):
        """Return the error code of a refusal, e.g. `out_of_stock`."""
        return ((self.body or {}).get("error") or {}).get("code")


def classify(status, body):
    """Return the Answer for an HTTP status and body."""
    if 200 <= status < 300:
        return Answer(SUCCEEDED, status, body)
    if status == 409:
        return Answer(REJECTED, status, body)
    if status in (408, 429) or status >= 500:
        return Answer(TRANSIENT, status, body, error=f"HTTP {status}")
    return Answer(BROKEN, status, body, error=f"HTTP {status}")


def settings(retry):
    """Return (attempts, timeout_s, backoff_s) of a step's Retry, defaults filled from config."""
    attempts = retry.attempts or config.orch_call_attempts()
    timeout = (retry.timeout_ms or config.orch_call_timeout_ms()) / 1000
    backoff = (retry.backoff_ms or config.orch_backoff_ms()) / 1000
    return attempts, timeout, backoff


def with_retries(send, retry, sleep=None):
    """Call send(timeout_s) until it gives an answer that is not transient, or attempts run out."""
    attempts, timeout, backoff = settings(retry)
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=waits(backoff),
        retry=tenacity.retry_if_result(lambda answer: answer.kind == TRANSIENT),
        retry_error_callback=lambda state: state.outcome.result(),  # the last transient answer
        **({"sleep": sleep} if sleep else {}))
    return retrying(send, timeout)


def waits(backoff):
    """Return the wait before each retry: backoff, 2x, 4x ... up to 16x, each plus a random
    jitter of up to one backoff. Growing waits give a struggling service room to recover;
    the jitter keeps the sagas that failed together from retrying together."""
    # exercise: retry-backoff begin
    return tenacity.wait_exponential_jitter(multiplier=backoff, max=backoff * 16, jitter=backoff)
    # exercise: retry-backoff end
