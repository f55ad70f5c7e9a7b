"""ORCH_TRANSPORT: HTTP unless told amqp, and a clear error for anything else."""
import pytest

from shared.runtime import config
from tests.support import tree_on_path


def test_the_transport_is_http_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("ORCH_TRANSPORT", raising=False)
    assert config.orch_transport() == "http"
    monkeypatch.setenv("ORCH_TRANSPORT", "amqp")
    assert config.orch_transport() == "amqp"


@pytest.mark.parametrize("value", ["AMQP", "grpc", "http "])
def test_any_other_transport_is_refused_with_the_choices_named(monkeypatch, value):
    monkeypatch.setenv("ORCH_TRANSPORT", value)
    with pytest.raises(ValueError, match="ORCH_TRANSPORT must be one of http, amqp"):
        config.orch_transport()


def test_a_services_command_consumers_share_one_heartbeat():
    # Trade-off 72 holds over AMQP too: 16 consumers each beating on its own clock were
    # 8 write transactions a second per service process, taking SQLite's write lock from
    # the commands. Built only (nothing connects until run()).
    tree_on_path("orch")
    from commands import amqp
    from shared.messaging.consumer import Consumer
    built = amqp.consumers("inventory", session_factory=None, commands={}, count=4)
    consumers = [r for r in built if isinstance(r, Consumer)]
    assert len(consumers) == 4
    assert len({id(c.pulse) for c in consumers}) == 1
