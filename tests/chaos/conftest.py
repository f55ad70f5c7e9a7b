"""Fixtures of the fault-catalogue tests: one running variant per test module, on its own ports
(offset 23000, broker on 5677) so that a `make chaos` run (offset 24000, broker 5676) can go on
beside them."""
import io

import pytest

from chaos.run import run_scenario
from chaos.system import System

PORT_OFFSET = 23000
AMQP_URL = "amqp://guest:guest@127.0.0.1:5677/%2F"


def started(variant):
    """Start a variant with two replicas for a test module; stop it after."""
    system = System(variant, name="chaos-test", offset=PORT_OFFSET, amqp_url=AMQP_URL)
    system.start()
    return system


@pytest.fixture
def run():
    """Run one short scenario and print its audit; return its results row."""
    def run_one(system, name, **kwargs):
        out = io.StringIO()
        row = run_scenario(system, name, short=True, out=out, **kwargs)
        print(out.getvalue())
        print(f"{name}: sent {row.sent}, completed {row.completed}, cancelled {row.cancelled}, "
              f"lost {row.lost}, doubled {row.doubled}, drained in {row.drain_s}s; {row.notes}")
        return row
    return run_one
