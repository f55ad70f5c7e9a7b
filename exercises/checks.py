"""Running an exercise's check: its tests, in its scratch copy, and a verdict in one word.

The verdict comes from pytest's JUnit report, not from its exit code alone, so the self-test can
tell "the deciding tests failed" (what a missing guarantee must cause) from "the tests could not
even be collected" (a broken starting point, which would make the exercise worthless).
"""
import os
import subprocess
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass


@dataclass
class Result:
    passed: bool
    failed: list   # `module::test` of the tests that failed
    errors: list   # `module::test` (or the module) that errored: collection, fixtures
    output: str

    def failed_on(self, deciding):
        """True when the tests failed (no errors) and one of the deciding tests is among them."""
        return (not self.passed and not self.errors
                and any(_matches(name, want) for name in self.failed for want in deciding))


def _matches(name, want):
    module, _, test = want.partition("::")
    got_module, _, got_test = name.partition("::")
    return got_module.endswith(module) and got_test.startswith(test)


def run(target, check):
    """Run the check's tests in the copy at `target`; return the Result."""
    report = target / "var" / "exercise-check.xml"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    command = [str(target / ".venv" / "bin" / "python"), "-m", "pytest", "-q",
               "-p", "no:cacheprovider", f"--junitxml={report}", *check.tests]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **check.env)
    done = subprocess.run(command, cwd=target, env=env, capture_output=True, text=True)
    failed, errors = _read(report)
    if done.returncode != 0 and not failed and not errors:
        errors = [f"pytest exited with {done.returncode}"]
    return Result(done.returncode == 0, failed, errors, done.stdout + done.stderr)


def _read(report):
    if not report.exists():
        return [], []
    failed, errors = [], []
    for case in ElementTree.parse(report).iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None:
            failed.append(name)
        if case.find("error") is not None:
            errors.append(name)
    return failed, errors
