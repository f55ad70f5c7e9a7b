"""Reset a variant: empty every service database, restock the catalog, purge the queues."""
import importlib
import subprocess
import sys

import pika

from shared.domain import inventory
from shared.models import inventory as inventory_tables
from shared.models import notifications, orders, payments, plumbing, shipping
from shared.runtime import config
from shared.runtime.db import make_engine, transaction, make_session_factory
from runner.broker import Broker

METADATA = {"orders": orders.metadata, "inventory": inventory_tables.metadata,
            "payments": payments.metadata, "shipping": shipping.metadata,
            "notifications": notifications.metadata}


def extra_databases(variant):
    """Return {database: metadata} of a variant's own databases: the orchestrator's tables, read
    from the orchestrated tree (orders-orch/orchestrator/tables.py; no other tree has that name)."""
    if variant != "orch":
        return {}
    sys.path.append(str(config.repo_root() / "orders-orch"))
    return {"orchestrator": importlib.import_module("orchestrator.tables").metadata}


def reset(variant):
    """Drop and recreate every table of the variant's databases, then restock."""
    databases = dict(METADATA, **extra_databases(variant))
    for service, metadata in databases.items():
        engine = make_engine(config.database_url(service))
        for meta in (metadata, plumbing.metadata):
            meta.drop_all(engine)
        session_factory = make_session_factory(engine, metadata, plumbing.metadata)
        if service == "inventory":
            with transaction(session_factory) as session:
                inventory.seed(session)
        engine.dispose()
        print(f"reset: {service} database emptied ({config.database_url(service)})")
    if variant == "choreo" or config.orch_transport() == "amqp":  # orch: commands and replies
        _purge_queues()


def _purge_queues():
    broker = Broker(config.amqp_url(), config.var_dir() / "rabbitmq")
    if not broker.answers():
        return
    listed = subprocess.run(["rabbitmqctl", "-n", broker.node, "-q", "list_queues", "name"],
                            env=broker.env(), capture_output=True, text=True, timeout=30)
    names = [n.strip() for n in listed.stdout.splitlines()[1:] if n.strip()]
    connection = pika.BlockingConnection(pika.URLParameters(config.amqp_url()))
    channel = connection.channel()
    for name in names:
        channel.queue_purge(name)
    connection.close()
    print(f"reset: purged {len(names)} queue(s)")
