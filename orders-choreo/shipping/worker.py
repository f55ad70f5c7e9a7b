"""Start the shipping worker: its consumer and its outbox relay."""
from shared.models.shipping import metadata
from shared.runtime.db import open_service_database
from service_worker import run_worker

from shipping.subscriptions import HANDLERS, QUEUE


def main():
    """Open the database and consume."""
    run_worker("shipping", open_service_database("shipping", metadata), {QUEUE: HANDLERS})


if __name__ == "__main__":
    main()
