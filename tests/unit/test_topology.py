"""The topology declared before any service starts is the subscriptions' data, nothing else."""
from ops.queues import COMMANDS_EXCHANGE, CONSUMER_QUEUES, command_queues
from shared.messaging.topology import subscriptions_in
from tests.support import ROOT, choreo_modules, orch_modules


def test_every_queue_of_every_choreographed_service_is_declared_with_its_handlers_keys():
    declared = subscriptions_in(ROOT / "orders-choreo")
    assert set(declared) == set(CONSUMER_QUEUES)
    for service in ("orders", "inventory", "payments", "shipping", "notifications"):
        with choreo_modules(f"{service}.subscriptions") as (subscriptions,):
            for queue, handlers in subscriptions.SUBSCRIPTIONS.items():
                assert declared[queue] == sorted(handlers)


def test_reading_the_subscriptions_leaves_no_variant_module_behind():
    import sys
    subscriptions_in(ROOT / "orders-choreo")
    assert not [name for name, module in sys.modules.items()
                if "orders-choreo" in str(getattr(module, "__file__", None) or "")]


def test_the_tools_name_the_orchestrated_queues_as_the_orchestrated_tree_does():
    with orch_modules("commands.amqp") as (amqp,):
        named = [amqp.command_queue(s) for s in ("orders", "inventory", "payments", "shipping",
                                                  "notifications")]
        named += [amqp.reply_queue(f"orchestrator-{n}") for n in range(3)]
        exchange = amqp.EXCHANGE
    assert sorted(command_queues(replicas=3)) == sorted(named)
    assert COMMANDS_EXCHANGE == exchange
