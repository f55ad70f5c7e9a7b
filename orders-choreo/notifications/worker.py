"""Start the notifications worker: its consumer and its outbox relay."""
from shared.models.notifications import metadata
from shared.runtime.db import open_service_database
from service_worker import run_worker

from notifications.subscriptions import HANDLERS, QUEUE


def main():
    """Open the database and consume."""
    run_worker("notifications", open_service_database("notifications", metadata),
               {QUEUE: HANDLERS})


if __name__ == "__main__":
    main()
