"""Integration fixtures: a real RabbitMQ node and real SQLite databases, nothing faked."""
import shutil
import threading
import uuid

import pika
import pytest

from runner.broker import Broker
from shared.models import plumbing
from shared.runtime.db import make_engine, make_session_factory
from tests.support import ROOT

AMQP_URL = "amqp://guest:guest@127.0.0.1:5674/%2F"


@pytest.fixture(scope="session")
def broker(stop_later):
    """A RabbitMQ node of the integration tests' own (port 5674, data under var/)."""
    node = Broker(AMQP_URL, ROOT / "var" / "test-integration-broker")
    if not node.answers():
        shutil.rmtree(node.base, ignore_errors=True)  # start empty: no queues left from before
        node.start()
    yield node
    stop_later(node.stop)


@pytest.fixture
def amqp_url(broker):
    """The URL of the integration broker."""
    return AMQP_URL


@pytest.fixture
def channel(amqp_url):
    """A channel for the test itself to publish and inspect with."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    yield connection.channel()
    if connection.is_open:
        connection.close()


@pytest.fixture
def database(tmp_path):
    """Return make(metadata): a session factory on a fresh SQLite file with those tables."""
    def make(*metadatas):
        engine = make_engine(f"sqlite:///{tmp_path / (uuid.uuid4().hex + '.db')}")
        return make_session_factory(engine, *metadatas, plumbing.metadata)
    return make


@pytest.fixture
def in_thread():
    """Run objects with run()/stop() (consumers, relays) in threads; stop them after the test."""
    started = []

    def start(runnable):
        thread = threading.Thread(target=runnable.run, daemon=True)
        thread.start()
        started.append((runnable, thread))
        return runnable

    yield start
    for runnable, thread in started:
        runnable.stop()
        thread.join(timeout=10)


@pytest.fixture
def queue_name(amqp_url):
    """A fresh queue name per test; the queue and its retry queue are deleted afterwards."""
    name = f"test.{uuid.uuid4().hex[:8]}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    for queue in (name, f"{name}.retry"):
        channel.queue_delete(queue)
    connection.close()
