"""The two settings a broker cluster changes: AMQP_URL may list every node, and QUEUE_TYPE
makes every queue a quorum queue; on one node, both leave things exactly as they were."""
import pytest

from shared.messaging import topology
from shared.messaging.connection import nodes
from shared.runtime import config

THREE = ("amqp://u:p@rabbitmq:5672/%2F, amqp://u:p@rabbitmq-2:5672/%2F,"
         "amqp://u:p@rabbitmq-3:5672/%2F")


def test_an_amqp_url_setting_may_list_a_clusters_nodes():
    assert config.amqp_urls(THREE) == ["amqp://u:p@rabbitmq:5672/%2F",
                                       "amqp://u:p@rabbitmq-2:5672/%2F",
                                       "amqp://u:p@rabbitmq-3:5672/%2F"]
    assert config.amqp_urls("amqp://g:g@127.0.0.1:5672/%2F") == ["amqp://g:g@127.0.0.1:5672/%2F"]


def test_a_client_is_given_every_node_to_try_each_with_a_connect_timeout():
    found = nodes(THREE)
    assert sorted(p.host for p in found) == ["rabbitmq", "rabbitmq-2", "rabbitmq-3"]
    assert all(p.connection_attempts == 1 and p.socket_timeout for p in found)


def test_the_management_url_of_a_cluster_is_its_first_nodes(monkeypatch):
    monkeypatch.delenv("RABBITMQ_MANAGEMENT_URL", raising=False)
    assert config.management_queues_url(THREE) == "http://u:p@rabbitmq:15672/api/queues/%2F"


def test_on_one_node_the_queues_are_declared_as_they_always_were(monkeypatch):
    monkeypatch.delenv("QUEUE_TYPE", raising=False)
    assert topology.queue_arguments("consumer", "q") == {}
    assert topology.queue_arguments("dead-letters") == {}
    assert topology.queue_arguments("retry", "q") == {"x-dead-letter-exchange": "",
                                                      "x-dead-letter-routing-key": "q"}


def test_on_a_cluster_every_queue_is_quorum_and_dead_letters_at_least_once(monkeypatch):
    monkeypatch.setenv("QUEUE_TYPE", "quorum")
    monkeypatch.setenv("QUEUE_DELIVERY_LIMIT", "7")
    consumer = topology.queue_arguments("consumer", "q")
    retry = topology.queue_arguments("retry", "q")
    for arguments in (consumer, retry, topology.queue_arguments("dead-letters")):
        assert arguments["x-queue-type"] == "quorum"
    for arguments in (consumer, retry):  # at-least-once needs reject-publish (RabbitMQ 3.10)
        assert arguments["x-dead-letter-strategy"] == "at-least-once"
        assert arguments["x-overflow"] == "reject-publish"
    assert retry["x-dead-letter-routing-key"] == "q"  # an expired retry goes back to its queue
    assert consumer["x-delivery-limit"] == 7
    assert consumer["x-dead-letter-routing-key"] == topology.DEAD_LETTER_QUEUE


def test_a_queue_type_that_does_not_exist_is_refused(monkeypatch):
    monkeypatch.setenv("QUEUE_TYPE", "mirrored")
    with pytest.raises(ValueError, match="QUEUE_TYPE"):
        config.queue_type()
