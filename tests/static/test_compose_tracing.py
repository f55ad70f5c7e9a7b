"""The tracing profile (deploy/compose-tracing.yml, `TRACING=jaeger`), checked without Docker:
Jaeger's official image by default, OTLP in, its UI on the host's 127.0.0.1:16686, and every
service program of both variants exporting to it when the profile is on (the stand-in receiver
and the export path run for real in tests/compose/test_cluster.py)."""
import json
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from runner import processes
from tests.static.test_compose import HERE, _env_file
from tests.support import ROOT

OVERLAY = yaml.safe_load((ROOT / "deploy" / "compose-tracing.yml").read_text())
SCRIPT = (ROOT / "deploy" / "compose.sh").read_text()


def test_the_overlay_validates_against_the_compose_spec_schema():
    jsonschema.Draft201909Validator(json.loads((HERE / "compose_spec.json").read_text())
                                    ).validate(OVERLAY)


def test_jaeger_takes_otlp_in_and_shows_its_ui_on_the_hosts_loopback_only():
    jaeger = OVERLAY["services"]["jaeger"]
    assert jaeger["image"].startswith("${JAEGER_IMAGE:-jaegertracing/all-in-one:")
    assert jaeger["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert jaeger["ports"] == ["127.0.0.1:16686:16686"]
    assert set(jaeger["profiles"]) == {"choreo", "orch"}
    assert "healthcheck" in jaeger  # deploy/compose.sh waits for every container's health


@pytest.mark.parametrize("variant", ["choreo", "orch"])
def test_every_service_program_exports_to_the_otlp_endpoint_the_script_sets(compose, variant):
    for program in processes.programs(variant):
        env = compose["services"][f"{variant}-{program.name}"]["environment"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}", program
    assert "export OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318" in SCRIPT
    assert "FILES+=(-f deploy/compose-tracing.yml)" in SCRIPT


def test_a_stand_in_receiver_exists_for_ci_built_like_the_others():
    assert "[JAEGER_IMAGE]=otlp" in SCRIPT
    for name in ("Dockerfile", "receiver.py"):
        assert (ROOT / "deploy" / "standins" / "otlp" / name).is_file()
    dockerfile = (ROOT / "deploy" / "standins" / "otlp" / "Dockerfile").read_text()
    assert "FROM ${BASE_IMAGE}" in dockerfile and "EXPOSE 4318 16686 14269" in dockerfile


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose (Debian's package) is not installed")
def test_docker_compose_itself_merges_the_tracing_overlay(tmp_path):
    found = subprocess.run(["docker-compose", "--env-file", str(_env_file(tmp_path)), "-f",
                            "docker-compose.yml", "-f", "deploy/compose-tracing.yml",
                            "--profile", "choreo", "config", "--services"], cwd=ROOT,
                           check=True, capture_output=True, text=True, timeout=60)
    assert "jaeger" in found.stdout.split()
