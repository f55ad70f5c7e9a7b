"""The end-to-end scenarios of tests/e2e, run against the containers instead of the runner.

The test functions are imported, not copied: pytest collects them here, where conftest.py's
`system`, `urls` and `http` point at a compose profile. Then `make audit`, from the host, as a
user runs it after `make compose-up`.
"""
from tests.compose.conftest import run
from tests.e2e.test_outcomes import (  # noqa: F401 (collected by pytest, in this order)
    test_an_order_ends_in_the_status_and_reason_of_its_outcome,
    test_the_timeline_lists_every_step_of_the_saga_with_service_time_and_correlation_id,
    test_a_timeline_of_an_unknown_order_is_404,
)
from tests.e2e.test_idempotency import (  # noqa: F401
    test_the_same_key_and_body_returns_the_same_order,
    test_the_same_key_with_another_body_is_a_422,
    test_concurrent_posts_with_one_key_create_one_order,
)
from tests.e2e.test_bad_input import (  # noqa: F401
    test_an_invalid_order_body_is_a_400_naming_the_field,
    test_a_malformed_non_json_or_oversized_body_gets_a_json_4xx,
    test_no_bad_request_creates_an_order,
)
from tests.e2e.test_burst import (  # noqa: F401
    test_a_burst_of_200_concurrent_orders_ends_exactly_as_asked,
)


def test_make_audit_passes_against_the_containers(system):
    audited = run("make", "audit", f"VARIANT={system.variant}", check=False, timeout=180)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    listed = "no work dead-lettered" if system.variant == "choreo" else "no saga stuck"
    assert listed in audited.stdout, audited.stdout
