"""docker-compose.yml is valid, complete, and starts every program as the native runner does.

These checks run without Docker, in `make test`; tests/compose/ (`make test-compose`) starts
the file for real. Here: the file validates against the Compose specification's JSON schema,
every file it names exists, each container's command and environment are the runner's
(runner/processes.py) up to the interpreter (`python`) and the bind address (0.0.0.0), and
the service URLs the containers are given reach the containers that serve them. compose_spec.json beside
this file is vendored unchanged from compose/config/compose_spec.json of the docker-compose
1.29.2 package on PyPI (Apache-2.0), the Compose specification's schema of that release.
"""
import json
import os
import re
import shutil
import subprocess
from urllib.parse import urlparse

import jsonschema
import pytest

from runner import postgres, processes
from runner.__main__ import environment
from shared.runtime import config
from tests.support import ROOT

HERE = ROOT / "tests" / "static"
APP = "/app"  # the image's WORKDIR, where the checkout is copied


def runner_command(program):
    """Return a program's command as a container runs it: `python`, bound to 0.0.0.0."""
    return ["python"] + [part.replace("127.0.0.1:", "0.0.0.0:")
                         for part in program.command[1:]]


def interpolated(value):
    """Return a compose value as compose hands it over: each ${NAME:-default} replaced by the
    variable's value in this environment, else its default (as .env would set it)."""
    return re.sub(r"\$\{([A-Z_]+):-([^}]*)\}",
                  lambda found: os.environ.get(found[1]) or found[2], str(value))


def programs_with_services(variant):
    """Yield (program, compose service name) for each program of a variant."""
    for program in processes.programs(variant):
        yield program, f"{variant}-{program.name}"


def test_the_compose_file_validates_against_the_compose_spec_schema(compose):
    schema = json.loads((HERE / "compose_spec.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose (Debian's package) is not installed")
def test_docker_compose_itself_accepts_the_file_for_both_profiles(tmp_path):
    env_file = _env_file(tmp_path)
    for profile in ("choreo", "orch"):
        subprocess.run(["docker-compose", "--env-file", str(env_file), "--profile", profile,
                        "config", "-q"], cwd=ROOT, check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose (Debian's package) is not installed")
def test_docker_compose_refuses_to_start_with_the_example_files_empty_passwords():
    found = subprocess.run(["docker-compose", "--env-file", ".env.example", "--profile", "choreo",
                            "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert found.returncode != 0 and "PASSWORD" in found.stderr, found.stderr


@pytest.mark.parametrize("variant", sorted(processes.VARIANTS))
def test_each_program_of_the_runner_has_a_container_in_its_profile(compose, variant):
    for program, name in programs_with_services(variant):
        assert name in compose["services"], f"{name} is missing from docker-compose.yml"
        assert compose["services"][name]["profiles"] == [variant]


@pytest.mark.parametrize("variant", sorted(processes.VARIANTS))
def test_each_container_runs_the_runners_command(compose, variant):
    for program, name in programs_with_services(variant):
        command = [interpolated(part) for part in compose["services"][name]["command"]]
        assert command == runner_command(program), name


@pytest.mark.parametrize("variant", sorted(processes.VARIANTS))
def test_each_container_gets_the_runners_environment(compose, variant):
    root = str(ROOT)
    common = environment(variant)
    expected = {"VARIANT": common["VARIANT"], "PYTHONUNBUFFERED": common["PYTHONUNBUFFERED"],
                "PYTHONPATH": common["PYTHONPATH"].replace(root, APP).replace(os.pathsep, ":")}
    for program, name in programs_with_services(variant):
        own = {k: v.replace("%(process_num)d", "0") for k, v in program.environment.items()}
        env = compose["services"][name]["environment"]
        for key, value in {**expected, **own}.items():
            assert env.get(key) == value, (name, key)


def _threads(command):
    return int(interpolated(command[command.index("--threads") + 1]))


@pytest.mark.parametrize("concurrency", [None, "5"])
def test_every_service_but_orders_handles_as_much_at_once_in_both_variants(
        compose, monkeypatch, concurrency):
    # One setting (CONCURRENCY) for both styles, natively and in compose; 5 catches a "16"
    # written in one place instead of the setting.
    if concurrency:
        monkeypatch.setenv("CONCURRENCY", concurrency)
    wanted, services = config.concurrency(), [s for s in config.SERVICES if s != "orders"]
    native = {p.name: _threads(p.command) for p in processes.programs("orch")}
    for service in services:
        assert native[f"{service}-api"] == wanted, service
        assert _threads(compose["services"][f"orch-{service}-api"]["command"]) == wanted, service
        worker_env = compose["services"][f"choreo-{service}-worker"]["environment"]
        assert int(interpolated(worker_env["CONCURRENCY"])) == wanted, service
    assert config.consumer_threads() == wanted  # what each worker runs per queue with it


@pytest.mark.parametrize("bound", [None, "100"])
def test_an_orchestrator_has_a_request_thread_for_every_saga_it_admits_and_more(
        compose, monkeypatch, bound):
    # runner/processes.py orchestrator_threads(): with no more threads than the in-flight bound, the requests waiting out
    # the budget take them all and the next POST /sagas queues unseen instead of being shed.
    # 100 catches a thread count written down instead of derived from ORCH_MAX_IN_FLIGHT.
    if bound:
        monkeypatch.setenv("ORCH_MAX_IN_FLIGHT", bound)
    native = {p.name: _threads(p.command) for p in processes.programs("orch", replicas=2)}
    for replica in ("orchestrator-0", "orchestrator-1"):
        assert native[replica] == config.orch_max_in_flight() + \
            processes.ORCHESTRATOR_REQUEST_THREADS > config.orch_max_in_flight(), replica
    if not bound:  # compose writes the number out, for the defaults
        assert _threads(compose["services"]["orch-orchestrator-0"]["command"]) == \
            native["orchestrator-0"]


@pytest.mark.parametrize("variant", sorted(processes.VARIANTS))
def test_each_service_has_its_own_database_named_as_the_runner_names_it(compose, variant):
    wanted = {k: urlparse(v).path for k, v in postgres.database_urls(variant, 5433).items()}
    for _, name in programs_with_services(variant):
        env = compose["services"][name]["environment"]
        got = {k: urlparse(v).path for k, v in env.items() if k.endswith("_DATABASE_URL")}
        assert got == wanted, name
        assert all(v.startswith("postgresql+psycopg://") and "@postgres:5432/" in v
                   for k, v in env.items() if k.endswith("_DATABASE_URL")), name


def test_the_postgres_init_script_creates_every_database_of_both_variants():
    script = (ROOT / "deploy" / "postgres" / "init.sh").read_text()
    created = set(re.findall(r"\b((?:choreo|orch)_[a-z]+)\b", script))
    assert created == {f"{v}_{s}" for v in processes.VARIANTS for s in postgres.services(v)}


def test_every_file_the_compose_file_names_exists(compose):
    for name, service in compose["services"].items():
        if "build" in service:
            assert (ROOT / service["build"]["context"] / "Dockerfile").is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), (name, source)
        command = service.get("command") or []
        if "-f" in command:
            for path in command[command.index("-f") + 1].split(","):  # Locust takes a list
                assert (ROOT / path).is_file(), (name, path)
        if "-m" in command and command[command.index("-m") + 1].endswith(".worker"):
            module = command[command.index("-m") + 1].replace(".", "/") + ".py"
            assert (ROOT / f"orders-{name.split('-')[0]}" / module).is_file(), name


def test_every_dependency_is_awaited_until_healthy(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            if dependency == "choreo-topology":  # a one-shot: awaited until it exited 0
                assert condition == {"condition": "service_completed_successfully"}, name
            else:
                assert condition == {"condition": "service_healthy"}, (name, dependency)
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["rabbitmq"]


def test_api_containers_check_their_own_health_and_workers_their_apis(compose):
    for variant in processes.VARIANTS:
        for program, name in programs_with_services(variant):
            url = compose["services"][name]["environment"]["HEALTHCHECK_URL"]
            assert url.endswith("/health"), name
            if program.port:
                assert url == f"http://127.0.0.1:{urlparse(url).port}/health", name


def test_choreographed_workers_yield_the_cpu_to_the_apis_as_their_native_twins_do(compose):
    # Natively a worker lowers its own priority (WORKER_NICE); in a container that would rank
    # it only against its own container, so the container's CPU weight must do it instead.
    assert config.worker_nice() > 0
    default_weight = 1024  # what Docker gives a container that names no cpu_shares
    for variant in processes.VARIANTS:
        for program, name in programs_with_services(variant):
            weight = compose["services"][name].get("cpu_shares", default_weight)
            if variant == "choreo" and program.name.endswith("-worker"):
                assert weight < default_weight, name
            else:
                assert weight == default_weight, name


def test_credentials_come_from_the_environment_and_have_no_default():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "guest" not in text
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    defaulted = set(re.findall(r"\$\{([A-Z_]+):-", text))
    unguarded = set(re.findall(r"\$\{([A-Z_]+)\}", text))
    example = (ROOT / ".env.example").read_text()
    defined = dict(re.findall(r"^([A-Z_]+)=(.*)$", example, re.MULTILINE))
    assert {"RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "SERVICE_TOKEN"} <= required
    assert defined["SERVICE_TOKEN"] == ""
    assert required | unguarded <= set(defined)
    assert all(defined[name] == "" for name in defined if name.endswith("_PASSWORD"))
    assert all(re.search(rf"^# {name}=", example, re.MULTILINE) for name in defaulted)


def test_the_env_file_with_the_passwords_is_never_committed():
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_no_container_shares_another_containers_network_namespace(compose):
    for name, service in compose["services"].items():
        assert "network_mode" not in service, name
        assert "ipc" not in service and "pid" not in service, name


@pytest.mark.parametrize("variant", sorted(processes.VARIANTS))
def test_every_service_url_reaches_the_container_serving_it_at_the_runners_port(compose,
                                                                               variant):
    serving = {program.name.split("-")[0]: f"http://{name}:{program.port}"
               for program, name in programs_with_services(variant)
               if program.port and program.name.endswith("-api")}
    orchestrators = [f"http://{name}:{program.port}"
                     for program, name in programs_with_services(variant)
                     if program.name.startswith("orchestrator-")]
    for program, name in programs_with_services(variant):
        env = compose["services"][name]["environment"]
        given = {k[:-len("_URL")].lower(): v for k, v in env.items()
                 if k.endswith("_URL") and not k.endswith("_DATABASE_URL")
                 and k not in ("AMQP_URL", "HEALTHCHECK_URL")}
        if variant == "orch":
            assert given == serving, name
            assert env["ORCHESTRATOR_URLS"].split(",") == orchestrators, name
        else:  # the choreographed services never call each other (events only)
            assert given == {} and "ORCHESTRATOR_URLS" not in env, name


def test_only_the_public_apis_are_published_on_every_interface(compose):
    public = {"8001", "8002"}  # Locust's web UIs, like every internal port: loopback only
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            host_side = mapping.rsplit(":", 1)[0]
            assert host_side in public or host_side.startswith("127.0.0.1:"), (name, mapping)


def test_the_locust_services_aim_at_their_variants_public_api(compose):
    assert compose["services"]["choreo-locust"]["command"][-1] == "http://choreo-orders-api:8001"
    assert compose["services"]["orch-locust"]["command"][-1] == "http://orch-orders-api:8002"


def test_every_container_with_the_apps_healthcheck_says_what_to_check(compose):
    for name, service in compose["services"].items():
        if service.get("image") == "orders-saga-app" and name != "choreo-topology":
            assert service["environment"].get("HEALTHCHECK_URL", "").startswith("http://"), name


def test_the_base_images_default_to_the_official_ones_and_have_a_stand_in_each(compose):
    text = (ROOT / "docker-compose.yml").read_text()
    defaults = dict(re.findall(r"\$\{([A-Z]+_IMAGE):-([^}]+)\}", text))
    script = (ROOT / "deploy" / "compose.sh").read_text()
    official = dict(re.findall(r"\[([A-Z]+_IMAGE)\]=([^\s)]+)", script.split("declare -A STANDIN")[0]))
    tracing = (ROOT / "deploy" / "compose-tracing.yml").read_text()  # the TRACING=jaeger overlay
    defaults |= dict(re.findall(r"\$\{([A-Z]+_IMAGE):-([^}]+)\}", tracing))
    assert defaults == official
    assert set(defaults) == {"PYTHON_IMAGE", "POSTGRES_IMAGE", "RABBITMQ_IMAGE", "JAEGER_IMAGE"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG PYTHON_IMAGE={defaults['PYTHON_IMAGE']}" in dockerfile
    for folder in ("python", "postgres", "rabbitmq", "otlp"):
        assert (ROOT / "deploy" / "standins" / folder / "Dockerfile").is_file(), folder


def test_the_code_calls_the_urls_the_compose_file_gives(compose, monkeypatch):
    env = compose["services"]["orch-orchestrator-0"]["environment"]
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    for service in config.SERVICES:
        assert config.service_url(service, "orch") == env[f"{service.upper()}_URL"]
    assert config.orchestrator_urls() == env["ORCHESTRATOR_URLS"].split(",")
    assert config.orchestrator_url(0) == env["ORCHESTRATOR_URLS"]


def test_every_choreographed_worker_waits_for_the_topology_the_runner_declares(compose):
    services = compose["services"]
    topology = services["choreo-topology"]
    assert topology["command"] == ["python", "-m", "shared.messaging.topology"]
    assert topology["restart"] == "no" and topology["profiles"] == ["choreo"]
    assert topology["environment"]["AMQP_URL"].endswith("@rabbitmq:5672/%2F")  # the compose broker
    workers = [n for n in services if n.startswith("choreo-") and n.endswith("-worker")]
    assert len(workers) == 5
    for name in workers:
        assert services[name]["depends_on"]["choreo-topology"] == {
            "condition": "service_completed_successfully"}, name


def test_every_orchestrated_service_gets_the_service_credential(compose):
    for name, service in compose["services"].items():
        if name.startswith("orch-") and name != "orch-locust":
            assert service["environment"]["SERVICE_TOKEN"].startswith("${SERVICE_TOKEN:?"), name


# The setting that budgets each container's CPU (runner/budgets.py natively), and its default.
CPU_SETTINGS = {"postgres": ("BUDGET_DB_CORES", config.budget_db_cores),
                "rabbitmq": ("BUDGET_BROKER_CORES", config.budget_broker_cores),
                "choreo-locust": ("BUDGET_LOAD_CORES", config.budget_load_cores),
                "orch-locust": ("BUDGET_LOAD_CORES", config.budget_load_cores),
                "choreo-orders-api": ("BUDGET_ORDERS_API_CORES", config.budget_orders_api_cores),
                "orch-orders-api": ("BUDGET_ORDERS_API_CORES", config.budget_orders_api_cores)}


def test_every_container_has_the_cpu_budget_its_native_twin_has(compose, monkeypatch):
    for name in ("BUDGET_CORES", "BUDGET_DB_CORES", "BUDGET_BROKER_CORES", "BUDGET_LOAD_CORES",
                 "BUDGET_ORDERS_API_CORES"):
        monkeypatch.delenv(name, raising=False)  # the defaults of shared/runtime/config.py
    for name, service in compose["services"].items():
        setting, default = CPU_SETTINGS.get(name, ("BUDGET_CORES", config.budget_cores))
        assert service.get("cpus") == f"${{{setting}:-{default():g}}}", name


# --- ORCH_TRANSPORT=amqp: deploy/compose-amqp.yml laid over the file (`make compose-up
# VARIANT=orch ORCH_TRANSPORT=amqp`), checked as docker-compose merges the two. ---

def test_the_amqp_overlay_validates_and_docker_compose_merges_it(compose_amqp):
    schema = json.loads((HERE / "compose_spec.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(compose_amqp)


def test_over_amqp_every_orchestrated_program_gets_the_transport_and_the_compose_broker(
        compose, compose_amqp):
    merged = merged_with_amqp(compose, compose_amqp)
    for program, name in programs_with_services("orch"):
        env = merged[name]["environment"]
        assert env["ORCH_TRANSPORT"] == "amqp", name
        assert env["AMQP_URL"] == compose["services"]["choreo-topology"]["environment"][
            "AMQP_URL"], name  # the choreographed variant's broker, same credentials
        assert merged[name]["depends_on"]["orch-commands-topology"] == {
            "condition": "service_completed_successfully"}, name
        assert merged[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}, name
    assert "orch" in merged["rabbitmq"]["profiles"] and "choreo" in merged["rabbitmq"]["profiles"]
    assert "ORCH_TRANSPORT" not in compose["services"]["orch-orchestrator-0"]["environment"]


def test_over_amqp_the_command_queues_are_declared_first_as_the_runner_declares_them(
        compose_amqp):
    topology = compose_amqp["services"]["orch-commands-topology"]
    assert topology["command"] == ["python", "-m", "commands.amqp"]
    # commands.amqp is in the orchestrated tree (orders-orch/commands/amqp.py)
    assert topology["environment"]["PYTHONPATH"] == "/app:/app/orders-orch"
    assert topology["profiles"] == ["orch"] and topology["restart"] == "no"
    assert topology["depends_on"] == {"rabbitmq": {"condition": "service_healthy"}}
    assert topology["environment"]["ORCH_REPLICAS"] == "1"  # one reply queue per replica


def merged_with_amqp(compose, overlay):
    """Return the services as docker-compose merges the overlay: mappings key by key."""
    merged = {}
    for name, service in compose["services"].items():
        extra = overlay["services"].get(name, {})
        merged[name] = {**service, **extra}
        for key in ("environment", "depends_on"):
            merged[name][key] = {**service.get(key, {}), **extra.get(key, {})}
    return merged


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose (Debian's package) is not installed")
def test_docker_compose_itself_accepts_the_amqp_overlay(tmp_path):
    env_file = _env_file(tmp_path)
    found = subprocess.run(["docker-compose", "--env-file", str(env_file), "-f",
                            "docker-compose.yml", "-f", "deploy/compose-amqp.yml", "--profile",
                            "orch", "config", "--services"], cwd=ROOT, check=True,
                           capture_output=True, text=True, timeout=60)
    assert {"rabbitmq", "orch-commands-topology", "orch-orchestrator-0"} <= set(
        found.stdout.split())


def _env_file(tmp_path):
    """Write .env.example with its blanks filled in, as compose needs them; return its path."""
    env_file = tmp_path / "env"
    env_file.write_text((ROOT / ".env.example").read_text().replace(
        "_PASSWORD=\n", "_PASSWORD=not-a-real-one\n").replace(
        "SERVICE_TOKEN=\n", "SERVICE_TOKEN=not-a-real-one\n"))
    return env_file
