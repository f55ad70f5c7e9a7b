"""List and replay dead-lettered messages: `make dead-letters` and `make replay-dead-letters`.

    python -m shared.messaging.deadletters list
    python -m shared.messaging.deadletters replay

Listing leaves the messages where they are; replaying sends each one back to the queue it
came from with its attempt count reset, for after the cause has been fixed.
"""
import argparse
import json

from shared import config
from shared.messaging import topology
from shared.messaging.connection import connect


def _drain(channel):
    while True:
        method, properties, body = channel.basic_get(topology.DEAD_LETTER_QUEUE, auto_ack=False)
        if method is None:
            return
        yield method, properties, body


def list_dead_letters(amqp_url):
    """Return every dead letter as a dict, leaving them in the queue."""
    connection = connect(amqp_url)
    try:
        channel = connection.channel()
        channel.queue_declare(topology.DEAD_LETTER_QUEUE, durable=True)
        found = []
        for _method, properties, body in _drain(channel):
            headers = properties.headers or {}
            found.append({"queue": headers.get(topology.ORIGIN_HEADER),
                          "reason": headers.get(topology.REASON_HEADER),
                          "attempts": headers.get(topology.ATTEMPTS_HEADER),
                          "message_id": properties.message_id,
                          "body": body.decode("utf-8", "replace")[:500]})
        return found  # closing the channel un-acked puts every message back
    finally:
        connection.close()


def replay_dead_letters(amqp_url):
    """Send every dead letter back to its original queue; return how many were replayed."""
    connection = connect(amqp_url)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare(topology.DEAD_LETTER_QUEUE, durable=True)
        replayed = 0
        for method, properties, body in _drain(channel):
            headers = dict(properties.headers or {})
            origin = headers.pop(topology.ORIGIN_HEADER, None)
            if not origin:
                continue  # nothing says where it came from: leave it for a person
            headers.pop(topology.REASON_HEADER, None)
            headers[topology.ATTEMPTS_HEADER] = 0
            properties.headers = headers
            channel.basic_publish("", origin, body, properties=properties)
            channel.basic_ack(method.delivery_tag)
            replayed += 1
        return replayed
    finally:
        connection.close()


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
        print(f"replayed {replay_dead_letters(config.amqp_url())} dead letter(s)")


if __name__ == "__main__":
    main()
