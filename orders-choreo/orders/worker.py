"""Start the orders worker: the outcome consumer, the tracker, and the outbox relay."""
from shared.models.orders import metadata
from shared.runtime.db import open_service_database
from service_worker import run_worker

from orders.subscriptions import (HANDLERS, OWN_DEDUP, QUEUE, TRACKER_CONSUMERS, TRACKER_HANDLERS,
                                  TRACKER_PREFETCH, TRACKER_QUEUE, UNTRACED)


def main():
    """Open the database and consume both queues."""
    run_worker("orders", open_service_database("orders", metadata),
               {QUEUE: HANDLERS, TRACKER_QUEUE: TRACKER_HANDLERS},
               prefetch={TRACKER_QUEUE: TRACKER_PREFETCH},
               consumers={TRACKER_QUEUE: TRACKER_CONSUMERS}, own_dedup=OWN_DEDUP,
               untraced=UNTRACED)


if __name__ == "__main__":
    main()
