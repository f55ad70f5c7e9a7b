"""Start the payments worker: its consumer and its outbox relay."""
from shared.models.payments import metadata
from shared.runtime.db import open_service_database
from service_worker import run_worker

from payments.subscriptions import HANDLERS, QUEUE


def main():
    """Open the database and consume."""
    run_worker("payments", open_service_database("payments", metadata), {QUEUE: HANDLERS})


if __name__ == "__main__":
    main()
