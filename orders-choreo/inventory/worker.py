"""Start the inventory worker: its consumer and its outbox relay."""
from shared.domain import inventory
from shared.models.inventory import metadata
from shared.runtime.db import open_service_database
from shared.runtime.db import transaction
from service_worker import run_worker

from inventory.subscriptions import HANDLERS, QUEUE


def main():
    """Open the database, stock it from the catalog, and consume."""
    session_factory = open_service_database("inventory", metadata)
    with transaction(session_factory) as session:
        inventory.seed(session)
    run_worker("inventory", session_factory, {QUEUE: HANDLERS})


if __name__ == "__main__":
    main()
