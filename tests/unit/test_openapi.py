"""Unit tests of shared/http/openapi.py: the document an app gives of itself, and the body checks
that come with a described route."""
from flask import Blueprint, jsonify
from openapi_spec_validator import validate

from shared.http.api_models import Order
from shared.http.openapi import browsable, describe, to_openapi_30
from shared.http.web import create_base_app
from tests.support import tree_on_path

tree_on_path("orch")
from commands.models import ChargePayment  # noqa: E402  (orders-orch/commands/)


def create_described_app(session_factory):
    """Return an app with one described command route, as an orchestrated service has."""
    app = create_base_app("payments", session_factory)
    routes = Blueprint("charge", __name__)
    charge = describe(lambda: jsonify({"charged": True}), "Charge", {201: Order},
                      body=ChargePayment)
    routes.add_url_rule("/payments", "charge", charge, methods=["POST"])
    app.register_blueprint(routes)
    return app


def test_the_document_is_valid_openapi_3_and_lists_every_described_route(session_factory):
    document = create_described_app(session_factory).test_client().get("/openapi.json").get_json()
    validate(document)
    assert set(document["paths"]) == {"/health", "/outbox", "/payments"}
    post = document["paths"]["/payments"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChargePayment"}
    assert {"201", "400", "413", "415"} <= set(post["responses"])


def test_a_body_its_model_refuses_is_400_naming_each_field(session_factory):
    client = create_described_app(session_factory).test_client()
    response = client.post("/payments", json={"order_id": "o" * 37, "amount_cents": True})
    assert response.status_code == 400
    fields = response.get_json()["error"]["fields"]
    assert {"order_id", "amount_cents", "customer_id", "currency", "card_token"} == set(fields)


def test_a_body_within_the_model_reaches_the_route(session_factory):
    client = create_described_app(session_factory).test_client()
    body = {"order_id": "o-1", "customer_id": "c", "amount_cents": 2500, "currency": "EUR",
            "card_token": "tok_visa"}
    assert client.post("/payments", json=body).get_json() == {"charged": True}
    assert client.post("/payments", data="x", content_type="text/plain").status_code == 415


def test_a_nullable_enum_is_written_the_openapi_3_0_way_with_null_among_its_values():
    schema = {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}],
              "examples": ["a"]}
    assert to_openapi_30(schema) == {"enum": ["a", "b", None], "type": "string",
                                     "nullable": True, "example": "a"}


def test_the_browsable_page_and_its_files_come_from_the_service_itself(session_factory):
    app = create_described_app(session_factory)
    browsable(app)
    client = app.test_client()
    page = client.get("/docs").get_data(as_text=True)
    assert "/openapi.json" in page and "validatorUrl: null" in page and "https:" not in page
    assert client.get("/docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/no-such-file.js").get_json()["error"]["code"] == "not_found"
