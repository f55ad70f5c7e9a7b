"""ORCH_TRANSPORT: HTTP unless told amqp, and a clear error for anything else."""
import pytest

from shared.runtime import config


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
