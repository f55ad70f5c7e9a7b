"""The learner's scratch copies under var/exercises/<name>/, and their progress.

A copy holds the files git knows of in the checkout (tracked, and new ones not ignored), a link
to the checkout's .venv, and a git repository of its own whose first commit is the exercise's
starting point, so `git diff` in the copy shows the learner's work. var/ is ignored by the
checkout's git: starting, checking and resetting exercises leaves `git status` empty there.
"""
import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

from exercises import markers

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "var" / "exercises"
PROGRESS = HOME / "progress.json"
NOT_STARTED, STARTED, PASSED = "not started", "started", "passed"


def path(name, home=HOME):
    """Return the scratch copy of an exercise."""
    return home / name


def _project_files():
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def copy_project(target):
    """Copy the project into `target` (which must not exist) and commit it there."""
    for name in _project_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    venv = ROOT / ".venv"
    if venv.exists():
        (target / ".venv").symlink_to(venv.resolve())
    _git(target, "init", "-q")


def commit(target, message):
    """Commit everything in the scratch copy (its own repository, never the checkout's)."""
    _git(target, "add", "-A")
    _git(target, "-c", "user.name=exercises", "-c", "user.email=exercises@localhost",
         "commit", "-q", "--allow-empty", "-m", message)


def _git(target, *args):
    subprocess.run(["git", *args], cwd=target, env=_git_env(target), check=True,
                   capture_output=True)


def _git_env(target):
    """git in the copy sees the copy's repository, never the checkout's around var/."""
    return dict(os.environ, GIT_CEILING_DIRECTORIES=str(target.parent))


def remove(target):
    """Delete a scratch copy (its brokers and databases under its var/ go with it)."""
    shutil.rmtree(target, ignore_errors=True)


def progress():
    """Return {exercise name: status} of the exercises the learner touched."""
    try:
        return json.loads(PROGRESS.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def record(name, status):
    """Record an exercise's status (not started, started, passed)."""
    known = progress()
    known[name] = status
    HOME.mkdir(parents=True, exist_ok=True)
    PROGRESS.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")


def apply_code(target, exercise, texts):
    """Put `texts` ({part: code}) into the exercise's regions of the copy at `target`."""
    for region in exercise.regions:
        if region.part in texts:
            markers.replace(target / region.file, exercise.name, region.part, texts[region.part])


def apply_page_diffs(target, page):
    """Apply every ```diff block of the copy's `page` to the copy (git apply); return them."""
    blocks = re.findall(r"^```diff\n(.*?)^```", (target / page).read_text(), re.M | re.S)
    for block in blocks:
        subprocess.run(["git", "apply", "-"], input=block.encode(), cwd=target, check=True,
                       capture_output=True, env=_git_env(target))
    return blocks


def reference(exercise):
    """Return {part: code} of the reference solution: the marked code of the checkout."""
    # Trade-off 101: the reference solution is the project's own code between the markers, not
    # a stored copy, so it cannot drift from the code the suite tests. The price: the starting
    # points and wrong fixes ARE stored copies (in exercises/catalog/) and can rot when the
    # code around them changes; tests/static/test_exercises.py compiles them, and
    # `make test-exercises` runs them.
    return {r.part: markers.read(ROOT / r.file, exercise.name, r.part) for r in exercise.regions}


def starting_point(exercise):
    """Return {part: code} of the removed state: the TODO, a pointer to the hint, the rest."""
    lines = textwrap.wrap(f"TODO(exercise {exercise.name}): {exercise.todo}", 88)
    todo = "".join(f"# {line}\n" for line in lines)
    todo += f"# `make hint NAME={exercise.name}` gives a hint.\n"
    return {r.part: todo + r.removed for r in exercise.regions}
