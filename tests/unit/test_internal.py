"""Unit tests of orders-orch/commands/internal.py: an internal command without the service
credential is a 403, and it is refused before anything runs (no work, no Idempotency-Key
claimed)."""
import pytest
from sqlalchemy import select

from shared.http.api_models import Order
from shared.http.openapi import describe
from shared.http.web import create_base_app
from shared.models.plumbing import idempotency_keys
from tests.support import tree_on_path

tree_on_path("orch")
from commands import http_session  # noqa: E402  (orders-orch/commands/)
from commands.idempotency import command_routes  # noqa: E402

KEY = {"Idempotency-Key": "o-1:complete_order:do"}


@pytest.fixture
def done():
    return []


@pytest.fixture
def client(session_factory, done):
    """An app with one internal command, as an orchestrated service has, and a public GET."""
    def settle(_session, body, order_id):
        done.append((order_id, body))
        return 200, {"order_id": order_id}

    app = create_base_app("orders", session_factory)
    app.register_blueprint(command_routes("orders", [("/things/<order_id>/outcome", describe(
        settle, "Settle", {200: Order}))]))
    return app.test_client()


def claimed_keys(session_factory):
    with session_factory() as session:
        return session.execute(select(idempotency_keys.c.key)).scalars().all()


@pytest.mark.parametrize("token, authorization", [
    ("t0ken", None),                 # no header
    ("t0ken", "Bearer wrong"),       # a wrong token
    ("t0ken", "t0ken"),              # the token without the Bearer scheme
    ("", "Bearer "),                 # no token configured: fail closed, even for an empty one
    ("", "Bearer t0ken")])
def test_an_internal_command_without_the_credential_is_403_and_changes_nothing(
        client, session_factory, done, monkeypatch, token, authorization):
    monkeypatch.setenv("SERVICE_TOKEN", token)
    headers = {**KEY, **({"Authorization": authorization} if authorization else {})}
    answer = client.post("/things/o-1/outcome", json={"status": "COMPLETED"}, headers=headers)
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "forbidden"
    assert "service credential" in answer.get_json()["error"]["message"]
    assert done == [] and claimed_keys(session_factory) == []


def test_the_check_runs_before_the_body_is_read(client, done, monkeypatch):
    monkeypatch.setenv("SERVICE_TOKEN", "t0ken")
    answer = client.post("/things/o-1/outcome", data="not json", content_type="text/plain")
    assert answer.status_code == 403 and done == []


def test_with_the_credential_the_command_runs_once_under_its_key(
        client, session_factory, done, monkeypatch):
    monkeypatch.setenv("SERVICE_TOKEN", "t0ken")
    headers = {**KEY, "Authorization": "Bearer t0ken"}
    answers = [client.post("/things/o-1/outcome", json={"status": "COMPLETED"}, headers=headers)
               for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.get_json() for a in answers] == [{"order_id": "o-1"}] * 2  # the stored answer
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, "true"]
    reused = client.post("/things/o-1/outcome", json={"status": "CANCELLED"}, headers=headers)
    assert reused.status_code == 422 and "Idempotent-Replayed" not in reused.headers
    assert reused.get_json()["error"]["code"] == "idempotency_key_reused"
    assert done == [("o-1", {"status": "COMPLETED"})]
    assert claimed_keys(session_factory) == ["o-1:complete_order:do"]


def test_public_routes_need_no_credential(client, monkeypatch):
    monkeypatch.setenv("SERVICE_TOKEN", "t0ken")
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/health").status_code in (200, 503)


def test_the_document_marks_internal_operations_and_only_them(client):
    document = client.get("/openapi.json").get_json()
    command = document["paths"]["/things/{order_id}/outcome"]["post"]
    assert command["security"] == [{"serviceToken": []}] and command["tags"] == ["internal"]
    assert "403" in command["responses"]
    scheme = document["components"]["securitySchemes"]["serviceToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    health = document["paths"]["/health"]["get"]
    assert "security" not in health and "403" not in health["responses"]


def test_the_session_services_call_each_other_with_carries_the_credential(monkeypatch):
    monkeypatch.setenv("SERVICE_TOKEN", "t0ken")
    # A session of its own for this test, dropped after it (not restored: monkeypatch would put
    # a session with this test's token back, for every later test of this thread to send).
    kept = http_session._local.__dict__.pop("session", None)
    try:
        assert http_session.this_thread().headers["Authorization"] == "Bearer t0ken"
    finally:
        http_session._local.__dict__.pop("session", None)
        if kept is not None:
            http_session._local.session = kept
