"""Commands and replies over RabbitMQ (ORCH_TRANSPORT=amqp): the orchestrated services' side.

The same command the orchestrator would POST (method, path, body, idempotency key) arrives as
a `saga.command` message on the service's command queue. The service routes its path with the
SAME COMMANDS table as its HTTP routes, and answers it through the SAME function
(idempotency.answer_once): the effect, the key with its stored answer, and the `saga.reply`
(status and body, exactly what the HTTP route would answer, a 409 refusal included) commit in
ONE transaction; the reply leaves through the service's outbox and relay. The consumer is
shared/messaging/consumer.py: ack after commit, retry queue, dead letters with a reason.

    orchestrator outbox --saga.command.<service>--> orders.commands --> <service>.commands
    service outbox --saga.reply.<replica>--> orders.commands --> orchestrator-<n>.replies

Dedup is by the idempotency key, which is the command's message id: a redelivery, or the
orchestrator's resend after a lost reply, replays the stored answer as a new reply instead of
applying the command again. A command that can never succeed (no route for its path, a body
its handler refuses with a 4xx) is poison: dead-lettered with the reason, no reply; the
saga waits as it would after a 400 over HTTP (stuck, resent with backoff).
Twin: idempotency.py's command() (the HTTP route) and orchestrator/messaging_driver.py.
"""
import fcntl
import logging
import threading

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule

from shared.http.openapi import BodyError
from shared.messaging import outbox, topology
from shared.messaging.consumer import Consumer, PermanentError, queue_pulse
from shared.messaging.envelope import caused_by
from shared.messaging.relay import OutboxRelay
from shared.models.plumbing import outbox as outbox_table
from shared.runtime import config
from commands import background, idempotency

log = logging.getLogger(__name__)
EXCHANGE = "orders.commands"  # commands and replies only: no event subscriber ever sees them
COMMAND, REPLY = "saga.command", "saga.reply"
REPLY_PREFIX = f"{REPLY}."
_HELD = []  # the lock files of start(), one per service in this process


def command_queue(service):
    """Return the queue a service's commands wait in."""
    return f"{service}.commands"


def command_key(service):
    """Return the routing key of a command to `service`."""
    return f"{COMMAND}.{service}"


def reply_queue(replica):
    """Return the queue of an orchestrator replica's replies (`orchestrator-0.replies`)."""
    return f"{replica}.replies"


def reply_key(replica):
    """Return the routing key of a reply to an orchestrator replica (the command's reply_to)."""
    return f"{REPLY_PREFIX}{replica}"


class Router:
    """A service's COMMANDS table [(path, handler)], matched like Flask matches its routes."""

    def __init__(self, commands):
        self.handlers = {handler.__name__: handler for _, handler in commands}
        self.urls = Map([Rule(path, endpoint=handler.__name__, methods=["POST"])
                         for path, handler in commands]).bind("commands")

    def match(self, method, path):
        """Return (handler, url arguments); raise PermanentError when no command has that path."""
        try:
            name, url_args = self.urls.match(path, method=method)
        except HTTPException:
            raise PermanentError(f"no command {method} {path}") from None
        return self.handlers[name], url_args


def apply_command(service, router, session, command):
    """Apply one command and queue its reply, in the consumer's transaction."""
    data = command.data
    handler, url_args = router.match(data["method"], data["path"])
    signature = idempotency.fingerprint(data["method"], data["path"], data["body"])
    dedup = not config.teaching_switch("TEACH_DISABLE_DEDUP")
    try:
        status, answer, replayed = idempotency.answer_once(
            session, data["key"], signature,
            lambda: handler(session, data["body"], **url_args), dedup=dedup)
    except (HTTPException, BodyError) as exc:  # a 4xx over HTTP: this command can never succeed
        # Trade-off 82: a command the handler refuses as invalid is dead-lettered with the
        # reason and gets no reply, where HTTP would answer 400: an operator sees it in one
        # place (the dead letters), and the saga waits as "stuck" as it would after a 400. The
        # price: each resend of that saga dead-letters the same command once more.
        raise PermanentError(f"{getattr(exc, 'code', 400)} {_said(exc)}") from None
    if replayed:
        log.info("duplicate command %s: the stored answer goes out again", data["key"])
    reply = caused_by(command, REPLY, 1, service, {"key": data["key"], "status": status,
                                                    "body": answer, "replayed": replayed})
    outbox.add(session, reply, routing_key=data["reply_to"])


def _said(exc):
    return getattr(exc, "fields", None) or getattr(exc, "description", None) or str(exc)


def consumers(service, session_factory, commands, count=None):
    """Return the consumers of a service's command queue and the relay of its replies."""
    router, amqp_url = Router(commands), config.amqp_url()
    handlers = {COMMAND: lambda session, command: apply_command(service, router, session,
                                                                 command)}
    # Trade-off 78: commands are deduplicated by their idempotency key alone (dedup=False: no
    # processed_messages row), because a duplicate must not be dropped silently: it may be the
    # orchestrator's resend after a lost reply, which needs the stored answer again. The cost:
    # every redelivery sends one more reply, which the orchestrator drops (not its current step).
    queue = command_queue(service)
    pulse = queue_pulse(session_factory, queue)  # one heartbeat row for all (Trade-off 72)
    built = [Consumer(service, queue, handlers, session_factory, amqp_url, number,
                      dedup=False, pulse=pulse, exchange=EXCHANGE,
                      bindings=(command_key(service),))
             for number in range(count or config.consumer_threads())]
    relay = OutboxRelay(session_factory, amqp_url, exchange=EXCHANGE,
                        only=outbox_table.c.routing_key.startswith(REPLY_PREFIX))
    return built + [relay]


def start(service, session_factory, commands, count=None):
    """Start a service's command consumers and reply relay in its API process (background.py),
    in ONE process of the service: the one that holds its lock file (see below)."""
    folder = config.var_dir() / config.variant()  # beside its SQLite database
    folder.mkdir(parents=True, exist_ok=True)
    lock = open(folder / f"{service}.commands.lock", "a")
    _HELD.append(lock)  # open for the life of the process: closing it would let go of the lock
    # Trade-off 85: the orders API runs two gunicorn workers on one database. Both relaying
    # its one outbox, both published the rows they found unsent: a third of the orders
    # service's replies went out twice, each a message for the broker and a reply for the
    # orchestrator to drop. So the worker that takes the lock consumes the commands and relays
    # the replies; the other serves HTTP only, and its thread blocked on the lock takes over
    # when the first dies (the kernel lets go of a dead process's lock). The cost: the
    # service's commands are applied in one process, not spread over two, and a takeover
    # waits for the old process to be gone.
    def run_them():
        runnables = consumers(service, session_factory, commands, count)
        background.start(runnables)  # and stopped at exit, before the interpreter is torn down
        log.info("%s: consuming commands from %s", service, command_queue(service))

    def take_over():
        fcntl.flock(lock, fcntl.LOCK_EX)  # blocks while the other worker lives
        run_them()

    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # another worker of this service holds it: stand by
        threading.Thread(target=take_over, name=f"{service}.commands-standby", daemon=True).start()
        return
    run_them()


def health_roles(service):
    """Return the heartbeats a service's /health needs: its command consumers and reply relay
    under ORCH_TRANSPORT=amqp, none over HTTP."""
    if config.orch_transport() != "amqp":
        return ()
    return (f"consumer:{command_queue(service)}", "relay")


def start_if_amqp(service, session_factory, commands):
    """Start the command consumers when ORCH_TRANSPORT=amqp (HTTP alone otherwise)."""
    if config.orch_transport() == "amqp":
        start(service, session_factory, commands)


def declare(channel, services, replicas):
    """Declare the commands exchange, every service's command queue and every replica's reply
    queue, each with its retry queue (what the runner does before the programs start)."""
    for service in services:
        topology.declare_consumer_queue(channel, command_queue(service), [command_key(service)],
                                        EXCHANGE)
    for replica in replicas:
        topology.declare_consumer_queue(channel, reply_queue(replica), [reply_key(replica)],
                                        EXCHANGE)


def main():
    """Declare the command topology on the broker of AMQP_URL (ORCH_REPLICAS replicas)."""
    replicas = [f"orchestrator-{n}" for n in range(config.orchestrator_replicas())]
    topology.declare_when_the_broker_answers(
        lambda channel: declare(channel, config.SERVICES, replicas))
    print(f"commands: declared {EXCHANGE} with the command and reply queues")
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
