"""Static-check fixtures: the compose file and the Dockerfile, parsed, without Docker."""
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from tests.support import ROOT


@pytest.fixture(scope="session")
def compose():
    """docker-compose.yml as data (YAML anchors and merge keys resolved)."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="session")
def dockerfile():
    """The Dockerfile's instructions, parsed by dockerfile-parse."""
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return parser.structure


@pytest.fixture(scope="session")
def compose_amqp():
    """deploy/compose-amqp.yml (the ORCH_TRANSPORT=amqp overlay) as data."""
    return yaml.safe_load((ROOT / "deploy" / "compose-amqp.yml").read_text())
