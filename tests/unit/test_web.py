"""Unit tests of the public order API's shared parts (shared/http/web.py, shared/http/orders_api.py)
through Flask's test client: an app like a variant's, with a fake in place of the saga."""
import threading

import pytest
from flask import Blueprint, g, jsonify
from sqlalchemy import select

from chaos import structural
from shared.http import orders_api
from shared.http.validation import MAX_BODY_BYTES
from shared.http.web import create_base_app
from shared.models.plumbing import heartbeats
from shared.runtime.heartbeat import Pulse, beat
from tests.support import orch_modules


class FakeSaga:
    """Stands in for what a variant does with a new order: remembers it, or fails on request."""

    def __init__(self):
        self.started = []  # (order_id, correlation_id) of every order it was handed
        self.broken = False

    def start(self, _session, row):
        if self.broken:
            raise RuntimeError("the saga could not be started")
        self.started.append((row["order_id"], row["correlation_id"]))


def create_test_app(session_factory, saga, workers=()):
    """Return an orders app built the way a variant's create_app builds it."""
    app = create_base_app("orders", session_factory, workers=workers)
    orders_api.register_error_handlers(app)
    app.register_blueprint(orders_api.reading_routes())
    routes = Blueprint("test_orders", __name__)

    @routes.post("/orders")
    def place_order():
        command, body, key = orders_api.read_order_request()
        order, _created = orders_api.store_order(command, body, key, g.correlation_id,
                                                 on_created=saga.start)
        return jsonify(order), 202, {"Location": f"/orders/{order['order_id']}"}

    app.register_blueprint(routes)
    return app


@pytest.fixture
def saga():
    """Give the fake saga the test app hands new orders to."""
    return FakeSaga()


@pytest.fixture
def client(session_factory, saga):
    """Give a test client of the orders app on a fresh database."""
    return create_test_app(session_factory, saga).test_client()


def place(client, body, **headers):
    return client.post("/orders", json=body, headers=headers)


# --- placing an order -----------------------------------------------------------------------

def test_a_valid_order_is_accepted_pending_with_its_location(client, saga, valid_body):
    response = place(client, valid_body)
    order = response.get_json()
    assert response.status_code == 202
    assert response.headers["Location"] == f"/orders/{order['order_id']}"
    assert (order["status"], order["total_cents"], order["currency"]) == ("PENDING", 2500, "EUR")
    assert saga.started == [(order["order_id"], response.headers["X-Correlation-Id"])]


def test_a_placed_order_can_be_read_back(client, valid_body):
    order = place(client, valid_body).get_json()
    response = client.get(f"/orders/{order['order_id']}")
    assert response.status_code == 200
    assert response.get_json() == order


def test_the_client_correlation_id_is_kept_and_given_back(client, saga, valid_body):
    response = place(client, valid_body, **{"X-Correlation-Id": "trace-123"})
    assert response.headers["X-Correlation-Id"] == "trace-123"
    assert saga.started[0][1] == "trace-123"


def test_a_request_without_a_correlation_id_gets_a_new_one(client):
    first, second = client.get("/health"), client.get("/health")
    assert first.headers["X-Correlation-Id"] != second.headers["X-Correlation-Id"]


def test_an_order_is_not_stored_when_its_saga_cannot_be_started(client, saga, valid_body):
    saga.broken = True
    response = place(client, valid_body)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert client.get("/orders").get_json()["items"] == []


# --- idempotency ----------------------------------------------------------------------------

def test_the_same_idempotency_key_and_body_return_the_same_order_once(client, saga, valid_body):
    first = place(client, valid_body, **{"Idempotency-Key": "k-1"})
    again = place(client, valid_body, **{"Idempotency-Key": "k-1"})
    assert again.get_json() == first.get_json()
    assert len(saga.started) == 1
    assert len(client.get("/orders").get_json()["items"]) == 1


def test_the_same_idempotency_key_with_another_body_is_422(client, saga, valid_body):
    place(client, valid_body, **{"Idempotency-Key": "k-1"})
    valid_body["items"][0]["quantity"] = 3
    response = place(client, valid_body, **{"Idempotency-Key": "k-1"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert len(saga.started) == 1


@pytest.mark.parametrize("key", ["", "k" * 201])
def test_an_empty_or_overlong_idempotency_key_is_400(client, valid_body, key):
    response = place(client, valid_body, **{"Idempotency-Key": key})
    assert response.status_code == 400
    assert list(response.get_json()["error"]["fields"]) == ["Idempotency-Key"]


# --- bad input is a 4xx with the one error shape, never a 500 -------------------------------

def test_invalid_fields_are_400_with_every_field_named(client, saga, valid_body):
    valid_body["customer_id"] = ""
    valid_body["items"][0]["quantity"] = 0
    response = place(client, valid_body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"
    assert set(response.get_json()["error"]["fields"]) == {"customer_id", "items[0].quantity"}
    assert saga.started == []


@pytest.mark.parametrize("data", ["{bad", "", b"\xff\xfe"])
def test_malformed_json_is_400(client, data):
    response = client.post("/orders", data=data, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"body": "malformed JSON"}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_415(client, content_type, valid_body):
    response = client.post("/orders", data=str(valid_body), content_type=content_type)
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


def test_a_body_over_64_kib_is_413(client):
    response = client.post("/orders", data="x" * (MAX_BODY_BYTES + 1),
                           content_type="application/json")
    assert response.status_code == 413
    assert "error" in response.get_json()


@pytest.mark.parametrize("case", [*structural.KEPT, *structural.REFUSED])
def test_a_structurally_extreme_body_is_400_malformed_json_and_stores_nothing(client, saga,
                                                                            case):
    cases = {**structural.KEPT, **structural.REFUSED}
    response = client.post("/orders", data=structural.body_bytes(cases[case]),
                           content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "invalid_request"
    assert saga.started == []


@pytest.mark.parametrize("path", ["/orders/a%00b", "/orders?status=%00", "/orders?after=%00"])
def test_a_nul_in_the_url_is_400_before_it_reaches_the_database(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "NUL" in response.get_json()["error"]["message"]


def test_a_line_without_a_sku_is_400_not_500(client, valid_body):
    del valid_body["items"][0]["sku"]
    assert place(client, valid_body).status_code == 400


# --- reading orders -------------------------------------------------------------------------

def test_an_unknown_order_is_404_in_the_error_shape(client):
    response = client.get("/orders/no-such-order")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_orders_can_be_listed_by_status(client, valid_body):
    place(client, valid_body)
    assert len(client.get("/orders?status=PENDING").get_json()["items"]) == 1
    assert client.get("/orders?status=COMPLETED").get_json()["items"] == []


def test_the_next_page_of_a_filtered_listing_keeps_the_filter(client, valid_body):
    for _ in range(3):
        place(client, valid_body)
    page = client.get("/orders?status=PENDING&limit=1").get_json()
    assert page["next"] is not None
    assert "status=PENDING" in page["next"]


def test_an_unknown_status_filter_is_400(client):
    response = client.get("/orders?status=LOST")
    assert response.status_code == 400
    assert list(response.get_json()["error"]["fields"]) == ["status"]


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten"])
def test_a_page_limit_outside_1_to_1000_is_400(client, limit):
    assert client.get(f"/orders?limit={limit}").status_code == 400


def test_the_listing_is_paged_and_each_page_says_where_the_next_one_is(client, valid_body):
    placed = {place(client, valid_body).get_json()["order_id"] for _ in range(3)}
    seen, url = [], "/orders?limit=2"
    while url:
        page = client.get(url).get_json()
        assert len(page["items"]) <= 2
        seen += [order["order_id"] for order in page["items"]]
        url = page["next"]
    assert sorted(seen) == sorted(placed)


def test_an_unknown_route_and_a_wrong_method_answer_in_the_error_shape(client):
    assert client.get("/nowhere").get_json()["error"]["code"] == "not_found"
    assert client.delete("/orders").get_json()["error"]["code"] == "method_not_allowed"


# --- health ---------------------------------------------------------------------------------

def test_health_is_ok_when_the_database_answers(client):
    response = client.get("/health")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_health_is_503_until_every_worker_has_a_recent_heartbeat(session_factory, saga):
    client = create_test_app(session_factory, saga, workers=("relay",)).test_client()
    assert client.get("/health").status_code == 503
    beat(session_factory, "relay@host-1")
    assert client.get("/health").status_code == 200


def test_the_consumers_of_one_queue_write_one_heartbeat_row_per_interval(session_factory, saga):
    # CONCURRENCY consumers share their queue's row (orders-choreo/service_worker.py); health reads
    # it as the role.
    client = create_test_app(session_factory, saga, workers=("consumer:q",)).test_client()
    pulse = Pulse(session_factory, "consumer:q@host-1", every_s=60)

    def written():
        with session_factory() as session:
            return session.execute(select(heartbeats.c.worker, heartbeats.c.beat_at)).all()

    pulse.beat()  # the first consumer due writes it
    first = written()
    threads = [threading.Thread(target=pulse.beat) for _ in range(15)]  # its 15 siblings
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert written() == first and len(first) == 1  # no sibling wrote it again within 60 s
    assert client.get("/health").status_code == 200


# --- a request cut short -------------------------------------------------------------------

def test_a_command_whose_body_was_cut_short_is_refused_and_its_key_stays_free(session_factory,
                                                                             monkeypatch):
    # A client killed between its headers and its body: gunicorn hands the request over with
    # an empty body (wsgi.input_terminated). Applied, the work would be stored under the key
    # with an empty body's fingerprint, and the client's full retry would get a 422 for ever.
    with orch_modules("commands.idempotency") as (idempotency,):
        command_routes = idempotency.command_routes
    done = []

    def commit(_session, body, order_id):
        done.append((order_id, body))
        return 200, {"order_id": order_id}

    monkeypatch.setenv("SERVICE_TOKEN", "t0ken")  # a command is internal: it needs the credential
    app = create_base_app("inventory", session_factory)
    app.register_blueprint(command_routes("inventory", [("/things/<order_id>/commit", commit)]))
    client = app.test_client()
    key = {"Idempotency-Key": "o-1:commit:do", "Authorization": "Bearer t0ken"}
    cut = client.post("/things/o-1/commit", data=b"", headers=key, content_type="application/json",
                      environ_overrides={"CONTENT_LENGTH": "21", "wsgi.input_terminated": True})
    assert (cut.status_code, cut.get_json()["error"]["code"]) == (400, "bad_request")
    assert done == []
    retry = client.post("/things/o-1/commit", json={"order_id": "o-1"}, headers=key)
    assert (retry.status_code, done) == (200, [("o-1", {"order_id": "o-1"})])
