"""List and replay dead-lettered messages: `make dead-letters` and `make replay-dead-letters`.

    python -m ops.deadletters list
    python -m ops.deadletters replay

Listing leaves the messages where they are; replaying sends each one back to the queue it
came from with its attempt count reset, for after the cause has been fixed. A dead letter
leaves its queue only once the broker has put it in the queue it came from: when that queue
is gone, the dead letter stays, and the replay says why.

An operator's tool, not a lesson: no service runs it. It reads the one dead-letter queue that
both transports over RabbitMQ fill (the choreographed events, the orchestrated commands and
replies with ORCH_TRANSPORT=amqp); the audit and the fault catalogue read it too.
"""
import argparse
import json
from dataclasses import dataclass, field

from pika.exceptions import ChannelClosedByBroker, NackError, UnroutableError

from shared.messaging import topology
from shared.messaging.connection import connect
from shared.runtime import config


def _drain(channel):
    while True:
        method, properties, body = channel.basic_get(topology.DEAD_LETTER_QUEUE, auto_ack=False)
        if method is None:
            return
        yield method, properties, body


def _dead_letters_channel(connection):
    """Return a channel on which the dead-letter queue exists, of whatever type: this tool
    does not know the services' QUEUE_TYPE (classic on one node, quorum on a cluster), and
    declaring the queue with another type would be refused."""
    channel = connection.channel()
    try:
        channel.queue_declare(topology.DEAD_LETTER_QUEUE, durable=True, passive=True)
        return channel
    except ChannelClosedByBroker:  # 404: nothing declared it yet
        channel = connection.channel()
        topology.declare_dead_letter_queue(channel)
        return channel


def list_dead_letters(amqp_url):
    """Return every dead letter as a dict, leaving them in the queue."""
    connection = connect(amqp_url)
    try:
        channel = _dead_letters_channel(connection)
        found = []
        for _method, properties, body in _drain(channel):
            headers = properties.headers or {}
            found.append({"queue": _origin(headers), "reason": _reason(headers),
                          "attempts": headers.get(topology.ATTEMPTS_HEADER),
                          "message_id": properties.message_id,
                          "body": body.decode("utf-8", "replace")[:500]})
        return found  # closing the channel un-acked puts every message back
    finally:
        connection.close()


@dataclass
class Replay:
    """What a replay did: how many dead letters went back, and which stayed, and why."""
    replayed: int = 0
    kept: list = field(default_factory=list)  # (message_id, reason) of each one left in place


def replay(amqp_url):
    """Send every dead letter back to its original queue; return the Replay."""
    connection = connect(amqp_url)
    try:
        channel = _dead_letters_channel(connection)
        channel.confirm_delivery()
        done = Replay()
        for method, properties, body in _drain(channel):
            kept = _send_back(channel, properties, body)
            if kept:  # left un-acked: closing the channel puts it back in the dead letters
                done.kept.append((properties.message_id, kept))
            else:
                channel.basic_ack(method.delivery_tag)
                done.replayed += 1
        return done
    finally:
        connection.close()


def _origin(headers):
    """The queue a dead letter came from: our header, or the broker's when the broker itself
    dead-lettered it (a quorum queue's delivery limit, shared/messaging/topology.py)."""
    return headers.get(topology.ORIGIN_HEADER) or headers.get("x-first-death-queue")


def _reason(headers):
    said_by_broker = headers.get("x-first-death-reason")
    return headers.get(topology.REASON_HEADER) or (said_by_broker and
                                                   f"by the broker: {said_by_broker}")


def _send_back(channel, properties, body):
    """Publish one dead letter to its origin queue; return why it could not be, or None."""
    headers = dict(properties.headers or {})
    origin = _origin(headers)
    headers.pop(topology.ORIGIN_HEADER, None)
    if not origin:
        return "no header names the queue it came from"  # for a person to look at
    headers.pop(topology.REASON_HEADER, None)
    headers[topology.ATTEMPTS_HEADER] = 0
    properties.headers = headers
    # Trade-off 62: mandatory, with confirms: the broker returns a message no queue takes
    # (pika raises UnroutableError) instead of confirming it and dropping it, so a dead letter
    # is acked only once it sits in its queue again. A replay whose origin queue is gone
    # (renamed, deleted) leaves that letter in place, for a person to decide.
    try:
        channel.basic_publish("", origin, body, properties=properties, mandatory=True)
    except UnroutableError:
        return f"origin queue {origin} does not exist"
    except NackError:
        return f"the broker refused it for origin queue {origin}"
    return None


def replay_dead_letters(amqp_url):
    """Replay every dead letter (see replay); return how many went back to their queue."""
    return replay(amqp_url).replayed


def main(argv=None):
    """Run the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["list", "replay"])
    args = parser.parse_args(argv)
    if args.action == "list":
        letters = list_dead_letters(config.amqp_url())
        for letter in letters:
            print(json.dumps(letter))
        print(f"{len(letters)} dead letter(s) in {topology.DEAD_LETTER_QUEUE}")
    else:
        done = replay(config.amqp_url())
        for message_id, reason in done.kept:
            print(f"kept {message_id}: {reason}")
        print(f"replayed {done.replayed} dead letter(s), {len(done.kept)} kept in "
              f"{topology.DEAD_LETTER_QUEUE}")


if __name__ == "__main__":
    main()
