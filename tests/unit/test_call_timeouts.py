"""Every call the orchestrator makes ends: a service that takes the connection and never
answers gives a transient answer once the step's timeout has passed, so the saga retries,
compensates or is left for recovery. Without a read timeout the saga's thread would wait for
ever, and with it a slot of the replica's in-flight bound (Trade-off 11)."""
import socket
import threading

from tests.support import tree_on_path

tree_on_path("orch")
from orchestrator import transport  # noqa: E402
from orchestrator.policy import TRANSIENT  # noqa: E402
from orchestrator.steps import Call, Retry, Step  # noqa: E402

CHARGE = Step("payments", Call("charge_payment", "POST", "/payments"),
              retry=Retry(attempts=2, timeout_ms=300, backoff_ms=10))


def test_a_service_that_never_answers_gives_a_transient_answer_not_a_hang(monkeypatch):
    with socket.socket() as silent:
        # Listening is enough: the kernel completes the handshake, nobody ever reads or answers.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("PAYMENTS_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        answers = []
        state = {"saga_id": "saga-silent", "order_id": "order-silent"}
        caller = threading.Thread(daemon=True, target=lambda: answers.append(
            transport.send(CHARGE, CHARGE.action, "do", state, "corr-silent")))
        caller.start()
        caller.join(timeout=10)  # far beyond 2 attempts of 0.3 s: only a missing timeout waits
        assert answers, "the call to a silent service never returned"
    assert answers[0].kind == TRANSIENT and answers[0].error == "ReadTimeout"
