"""Opening a broker connection, and staying connected: plumbing for the consumer and relay."""
import logging

import pika
from pika.exceptions import AMQPError
from sqlalchemy.exc import OperationalError
from tenacity import (RetryError, before_sleep_log, retry, retry_if_exception_type,
                      wait_exponential_jitter)

log = logging.getLogger(__name__)

# A heartbeat every 30 s; work inside one delivery is short (ms), and any on-purpose latency
# waits with connection.sleep(), which keeps answering heartbeats while it waits.
HEARTBEAT_S = 30


def connect(amqp_url):
    """Open a blocking connection to the broker."""
    params = pika.URLParameters(amqp_url)
    params.heartbeat = HEARTBEAT_S
    params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    return pika.BlockingConnection(params)


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
