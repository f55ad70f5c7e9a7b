"""The Dockerfile's essentials: a pinned slim base, dependencies before code, a non-root user,
and a HEALTHCHECK whose script exists (parsed with dockerfile-parse; no Docker needed)."""
import re

from tests.support import ROOT


def instructions(structure, name):
    """Return the values of every instruction called `name`, in order."""
    return [item["value"] for item in structure if item["instruction"] == name]


def index_of(structure, name, contains=""):
    """Return the position of the first `name` instruction whose value contains `contains`."""
    return next(i for i, item in enumerate(structure)
                if item["instruction"] == name and contains in item["value"])


def test_the_base_image_is_a_slim_python_311_pinned_to_a_patch_release(dockerfile):
    (base,) = instructions(dockerfile, "FROM")
    assert base == "${PYTHON_IMAGE}"  # overridable; by default the official image
    default = next(value.split("=", 1)[1] for value in instructions(dockerfile, "ARG")
                   if value.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", default), default


def test_the_requirements_are_installed_before_the_code_is_copied(dockerfile):
    copy_requirements = index_of(dockerfile, "COPY", "requirements.txt")
    install = index_of(dockerfile, "RUN", "pip install --no-cache-dir -r requirements.txt")
    copy_code = index_of(dockerfile, "COPY", ". .")
    assert copy_requirements < install < copy_code


def test_the_services_run_as_a_user_that_is_not_root(dockerfile):
    users = instructions(dockerfile, "USER")
    assert users and users[-1] not in ("root", "0")
    assert index_of(dockerfile, "USER") > index_of(dockerfile, "COPY", ". .")


def test_the_image_has_a_healthcheck_whose_script_exists(dockerfile):
    (check,) = instructions(dockerfile, "HEALTHCHECK")
    assert "deploy/healthcheck.py" in check
    assert (ROOT / "deploy" / "healthcheck.py").is_file()


def test_the_var_dir_is_set_for_the_services(dockerfile):
    assert any("VAR_DIR=/app/var" in value for value in instructions(dockerfile, "ENV"))


def test_local_state_stays_out_of_the_build_context():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", ".env"} <= set(ignored)
