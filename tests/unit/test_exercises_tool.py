"""The exercises' tool: marked regions are read and replaced in place, indented like their
markers, and a check counts as failing on its deciding tests only when they failed (not when
the tests could not be collected)."""
import pytest

from exercises import markers
from exercises.checks import Result

CODE = '''def charge():
    before = 1
    # exercise: demo begin
    return guarded()
    # exercise: demo end


def other():
    # exercise: demo begin part
    x = 1
    # exercise: demo end part
'''


def test_a_region_is_read_flush_left_and_replaced_indented_like_its_markers(tmp_path):
    path = tmp_path / "code.py"
    path.write_text(CODE)
    assert markers.read(path, "demo") == "return guarded()\n"
    markers.replace(path, "demo", "", "# TODO\nreturn None\n")
    assert "    # exercise: demo begin\n    # TODO\n    return None\n    # exercise: demo end" \
        in path.read_text()
    assert markers.read(path, "demo", "part") == "x = 1\n"  # the other part is untouched
    compile(path.read_text(), str(path), "exec")


@pytest.mark.parametrize("broken", [CODE.replace("    # exercise: demo end\n", "", 1),
                                    CODE + "# exercise: demo begin\n# exercise: demo end\n"])
def test_an_unpaired_or_doubled_region_is_an_error_not_a_guess(tmp_path, broken):
    path = tmp_path / "code.py"
    path.write_text(broken)
    with pytest.raises(markers.MarkerError):
        markers.read(path, "demo")


def test_a_check_fails_on_its_deciding_tests_only_when_they_failed_and_nothing_errored():
    failed = ["tests.unit.test_policy::test_the_waits_grow[1]"]
    assert Result(False, failed, [], "").failed_on(["test_policy::test_the_waits_grow"])
    assert not Result(False, failed, [], "").failed_on(["test_policy::test_other"])
    assert not Result(False, failed, ["tests.unit.test_policy::"], "").failed_on(
        ["test_policy::test_the_waits_grow"])
