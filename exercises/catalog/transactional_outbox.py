"""Exercise transactional-outbox: an event is written by the transaction that causes it."""
from exercises.catalog import Check, Exercise, Region, WrongFix

IN_MEMORY_RETRY = '''\
import threading
import time


def publish_until_it_goes():  # retried from memory until the broker takes it
    for attempt in range(30):
        try:
            from shared.messaging.connection import connect
            from shared.messaging.topology import EXCHANGE, persistent
            connection = connect(config.amqp_url())
            channel = connection.channel()
            channel.confirm_delivery()
            channel.basic_publish(EXCHANGE, routing_key or envelope.type, envelope.to_json(),
                                  properties=persistent(envelope.type, envelope.message_id,
                                                        None))
            connection.close()
            return
        except Exception:
            time.sleep(min(0.2 * 2 ** attempt, 5))


after_commit(session, lambda: threading.Thread(target=publish_until_it_goes,
                                               daemon=True).start())
'''

EXERCISE = Exercise(
    name="transactional-outbox",
    title="The transactional outbox (choreography)",
    lesson="An event published after the commit is lost when the process dies between the two; "
           "written as a row by the same transaction as the change, it commits with it or not "
           "at all, and a relay publishes it later, whatever happened to the process.",
    teaches="Trade-off 1 (the event is a row written by the business transaction itself)",
    read_first=("shared/messaging/outbox.py", "shared/messaging/relay.py (module docstring)",
                "docs/reliability.md (Choreography: the outbox)"),
    todo="instead of publishing after the commit, write the event as a row of the outbox table "
         "in the session's own transaction, and wake the relays of this process after the "
         "commit.",
    hint="session.execute(insert(outbox), {...}) with the columns of shared/models/plumbing.py's "
         "outbox (message_id, routing_key, body, created_at, sent_at=None, owner, headers: "
         "tracing.outbox_headers(envelope)), then after_commit(session, _wake_relays). A publish "
         "retried from memory survives a broker restart but not a killed process.",
    seen="tests/integration/test_outbox_relay.py: an event committed by a process killed "
         "(SIGKILL) while the broker was unreachable is published by the relay afterwards. The "
         "file's other tests (run them too) show committed events published in order and "
         "rolled-back ones never.",
    regions=(Region("shared/messaging/outbox.py",
                    "_publish_after_commit(session, envelope)  # straight to the broker\n"),),
    # The file's other tests wait a minute for events that never come when the outbox is
    # missing; this one decides the exercise on its own, in half a minute.
    check=Check(tests=("tests/integration/test_outbox_relay.py::"
                       "test_an_event_committed_by_a_process_killed_before_any_publish_is_still_"
                       "published",),
                deciding=("test_outbox_relay::test_an_event_committed_by_a_process_killed",),
                tier="integration (a real RabbitMQ node of its own, port 5674)", seconds=30,
                failure="An event can be lost after its change committed: the process died (or "
                        "the broker was away) between the commit and the publish."),
    wrong=(WrongFix("in-memory-publish-retry",
                    "a publish retried from memory after the commit rides out a broker restart "
                    "but dies with the process: a kill between the commit and the publish "
                    "loses the event",
                    {"": IN_MEMORY_RETRY}),),
)
