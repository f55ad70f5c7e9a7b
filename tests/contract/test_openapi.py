"""Every service of both variants describes itself: GET /openapi.json is a valid OpenAPI 3
document, the public orders APIs serve a browsable page of it, and schemathesis (a fuzzer
nobody here wrote) finds that every operation answers as its document says.
"""
import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, \
    status_code_conformance

from tests.contract.conftest import SERVICE_TOKEN, services

EVERY_SERVICE = ["orders", "inventory", "payments", "shipping", "notifications", "orchestrator"]
CREDENTIAL = {"Authorization": f"Bearer {SERVICE_TOKEN}"}  # reach the internal commands' work
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
EXAMPLES_PER_OPERATION = 12  # both variants, 40 operations: about a minute on 2 cores


def document_url(system, service):
    if service not in services(system.variant):
        pytest.skip(f"{system.variant} has no {service} service")
    return f"{system.url(service)}/openapi.json"


@pytest.mark.parametrize("service", EVERY_SERVICE)
def test_every_service_answers_with_a_valid_openapi_3_document(system, service):
    document = requests.get(document_url(system, service), timeout=10).json()
    validate(document)  # raises OpenAPIValidationError on any flaw
    assert document["openapi"].startswith("3.")
    assert "/health" in document["paths"]


def test_the_public_orders_api_is_browsable_from_the_service_itself(system):
    base = system.url("orders")
    page = requests.get(f"{base}/docs", timeout=10)
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert "https://" not in page.text and "http://" not in page.text  # no CDN
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert requests.get(f"{base}/docs/{asset}", timeout=10).status_code == 200


def conforms(operation):
    """Run schemathesis's generated cases, valid and invalid, against one operation; return
    the failure or None."""
    @given(case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE)))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(checks=CHECKS, timeout=15, headers=CREDENTIAL)
    try:
        check()
    except Exception as exc:  # schemathesis's FailureGroup, or the first error it met
        return f"{operation.label}: {exc}"
    return None


@pytest.mark.parametrize("service", EVERY_SERVICE)
def test_every_operation_answers_as_its_document_says(system, service):
    schema = schemathesis.openapi.from_url(document_url(system, service))
    operations = [result.ok() for result in schema.get_all_operations()]
    failures = [f for f in map(conforms, operations) if f]
    assert operations and not failures, "\n\n".join(failures)
