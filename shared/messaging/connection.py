"""Opening a broker connection, and staying connected: plumbing for the consumer and relay.

A broker may be one node or a cluster. AMQP_URL names one node, or every node of a cluster
separated by commas (`amqp://u:p@rabbitmq-1:5672/%2F,amqp://u:p@rabbitmq-2:5672/%2F,...`):
a client connects to any live node of the list and, when that node goes, run_forever()
connects again, to another. What it was doing resumes without loss or doubles because
delivery is at-least-once end to end: the relay publishes again every row the broker had
not confirmed, and a consumer drops a redelivered message by its id (consumer.py).
"""
import logging
import random

import pika
from pika.exceptions import AMQPError
from sqlalchemy.exc import OperationalError
from tenacity import (RetryError, before_sleep_log, retry, retry_if_exception_type,
                      wait_exponential_jitter)

from shared.runtime import config

log = logging.getLogger(__name__)

# A heartbeat every 30 s; work inside one delivery is short (ms), and any on-purpose latency
# waits with connection.sleep(), which keeps answering heartbeats while it waits.
HEARTBEAT_S = 30
# How long a connect to one node may take before the next node is tried: a node cut off the
# network answers nothing, so without it a client would wait for the system's TCP timeout.
CONNECT_TIMEOUT_S = 5


def nodes(amqp_url):
    """Return the connection parameters of every node an AMQP URL setting names, in the
    order to try them: a random order."""
    # Trade-off 95: every client tries the nodes in an order of its own, drawn at random at
    # each connect, not the list's order: the connections of a cluster's clients spread over
    # its nodes, and a dead node costs a client one failed attempt, not everyone the same
    # wait. The price: a consumer is often connected to a node that does not lead its queue,
    # so its deliveries take one hop more inside the cluster, and which node a client uses
    # is not predictable (the fault catalogue finds a queue's leader, it does not assume it).
    urls = config.amqp_urls(amqp_url)
    random.shuffle(urls)
    return [_parameters(url) for url in urls]


def _parameters(url):
    params = pika.URLParameters(url)
    params.heartbeat = HEARTBEAT_S
    params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    params.socket_timeout = CONNECT_TIMEOUT_S
    return params


def connect(amqp_url):
    """Open a blocking connection to the first node of `nodes(amqp_url)` that answers."""
    return pika.BlockingConnection(nodes(amqp_url))


def run_forever(name, run_once, stopping):
    """Call `run_once()`, reconnecting with backoff when the broker or the database fails,
    until it returns or `stopping()` is true."""
    @retry(retry=retry_if_exception_type((AMQPError, OSError, OperationalError)),
           wait=wait_exponential_jitter(multiplier=0.2, max=5),
           stop=lambda _state: stopping(),
           before_sleep=before_sleep_log(log, logging.WARNING))
    def supervised():
        run_once()

    try:
        supervised()
    except RetryError:
        pass  # asked to stop while the broker was away
    log.info("%s stopped", name)
