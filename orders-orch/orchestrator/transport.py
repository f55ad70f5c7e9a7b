"""The orchestrator's HTTP calls: idempotency key, correlation id, timeout, and no exceptions
(every failure becomes an Answer the policy can classify). Plumbing, not the lesson.
"""
import requests

from shared.runtime import config
from commands import http_session
from orchestrator.policy import TRANSIENT, Answer, classify, with_retries


def idempotency_key(saga_id, step, kind):
    """Return the key of one action of one step of one saga: `<saga_id>:<step>:<do|undo>`."""
    return f"{saga_id}:{step}:{kind}"


def send(step, call, kind, state, correlation_id):
    """Make one step's call (with retries) and return its Answer."""
    method, path, body = call.request(state)
    headers = {"X-Correlation-Id": correlation_id}
    if not config.teaching_switch("TEACH_DISABLE_IDEMPOTENCY_KEYS"):
        headers["Idempotency-Key"] = idempotency_key(state["saga_id"], step.name, kind)
    url = config.service_url(step.service, "orch") + path
    return with_retries(lambda timeout: _once(method, url, body, headers, timeout), step.retry)


def _once(method, url, body, headers, timeout):
    try:
        # exercise: call-timeouts begin
        answer = http_session.this_thread().request(method, url, json=body, headers=headers,
                                                    timeout=timeout)
        # exercise: call-timeouts end
    except requests.RequestException as exc:
        return Answer(TRANSIENT, error=f"{type(exc).__name__}")
    try:
        payload = answer.json()
    except ValueError:
        payload = {}
    return classify(answer.status_code, payload if isinstance(payload, dict) else {})
