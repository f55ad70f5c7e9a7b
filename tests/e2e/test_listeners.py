"""Everything a variant runs natively listens on loopback only: its gunicorn programs, and in
choreography the broker's AMQP port, its management API, its Erlang distribution port and
epmd (with the E2E_DB=postgres run, the PostgreSQL cluster too). A development node with the
guest user must not answer the network."""
import subprocess
from urllib.parse import urlparse

from shared.runtime.config import MANAGEMENT_PORT_OFFSET
from tests.e2e.conftest import E2E_DB, TEST_AMQP_URL, TEST_POSTGRES_PORTS

EPMD_PORT = 4369


def listening():
    """Return [(address, port)] of every listening TCP socket in this network namespace."""
    lines = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True,
                           timeout=10).stdout.splitlines()
    found = []
    for line in lines:
        address, port = line.split()[3].rsplit(":", 1)
        found.append((address.strip("[]").split("%")[0], int(port)))
    return found


def loopback(address):
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")


def variant_ports(system, urls):
    """Return the ports the running variant's programs and servers must listen on."""
    ports = {urlparse(url).port for url in urls.values()}
    if system.variant == "orch":
        ports.add(urlparse(system.url("orchestrator")).port)
    if system.variant == "choreo":
        amqp = urlparse(TEST_AMQP_URL).port
        ports |= {amqp, amqp + MANAGEMENT_PORT_OFFSET, amqp + 20000, EPMD_PORT}
    if E2E_DB == "postgres":
        ports.add(int(TEST_POSTGRES_PORTS[system.variant]))
    return ports


def test_every_port_of_the_variant_listens_on_loopback_only(system, urls):
    ports = variant_ports(system, urls)
    mine = [(address, port) for address, port in listening() if port in ports]
    assert {port for _, port in mine} == ports, "a program of the variant is not listening"
    assert [(a, p) for a, p in mine if not loopback(a)] == []
