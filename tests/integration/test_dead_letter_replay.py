"""Replaying dead letters loses none: a letter whose origin queue is gone stays a dead letter,
and the replay command says why (ops/deadletters.py), on a real broker."""
import subprocess
import sys
import uuid

import pytest

from ops import deadletters
from shared.messaging import topology
from tests.support import ROOT


@pytest.fixture
def dead_letter_queue(channel):
    """The shared dead-letter queue, emptied before and after the test."""
    channel.queue_declare(topology.DEAD_LETTER_QUEUE, durable=True)
    channel.queue_purge(topology.DEAD_LETTER_QUEUE)
    yield topology.DEAD_LETTER_QUEUE
    channel.queue_purge(topology.DEAD_LETTER_QUEUE)


def dead_letter(channel, origin):
    """Dead-letter one message as a consumer of `origin` does; return its message id."""
    message_id = uuid.uuid4().hex
    headers = {topology.ORIGIN_HEADER: origin, topology.ATTEMPTS_HEADER: 3,
               topology.REASON_HEADER: "failed 3 times: ConnectionError"}
    channel.basic_publish("", topology.DEAD_LETTER_QUEUE, b'{"note": "keep me"}',
                          properties=topology.persistent("test.event", message_id, "c-1",
                                                         headers))
    return message_id


def test_a_dead_letter_whose_origin_queue_is_gone_stays_and_the_replay_says_why(
        amqp_url, channel, queue_name, dead_letter_queue):
    channel.queue_declare(queue_name, durable=True)
    message_id = dead_letter(channel, queue_name)
    channel.queue_delete(queue_name)  # e.g. renamed by a later release
    still_there = f"{queue_name}.still-there"
    channel.queue_declare(still_there, durable=True)
    dead_letter(channel, still_there)  # the replay goes on after a letter it must keep

    done = subprocess.run([sys.executable, "-m", "ops.deadletters", "replay"],
                          cwd=ROOT, env={"AMQP_URL": amqp_url, "PATH": ""}, timeout=60,
                          capture_output=True, text=True, check=True)
    channel.queue_delete(still_there)
    assert f"kept {message_id}: origin queue {queue_name} does not exist" in done.stdout
    assert "replayed 1 dead letter(s), 1 kept" in done.stdout

    [letter] = deadletters.list_dead_letters(amqp_url)
    assert (letter["message_id"], letter["queue"]) == (message_id, queue_name)
    assert letter["body"] == '{"note": "keep me"}' and letter["attempts"] == 3


def test_a_dead_letter_whose_origin_queue_exists_goes_back_to_it(
        amqp_url, channel, queue_name, dead_letter_queue):
    channel.queue_declare(queue_name, durable=True)
    message_id = dead_letter(channel, queue_name)

    assert deadletters.replay(amqp_url).replayed == 1
    assert deadletters.list_dead_letters(amqp_url) == []
    method, properties, _body = channel.basic_get(queue_name, auto_ack=True)
    assert properties.message_id == message_id
    assert properties.headers[topology.ATTEMPTS_HEADER] == 0
