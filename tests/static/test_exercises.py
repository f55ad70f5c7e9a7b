"""The exercises cannot rot silently: every region they name is marked once in the code, every
marker belongs to an exercise, and each starting point and wrong fix still compiles.

This is the cheap half of the guard; `make test-exercises` (in .ci/run) runs each exercise's
check three ways in a copy of the project."""
import re

import pytest

from exercises import catalog, markers, scratch
from tests.support import ROOT

EXERCISES = catalog.all_exercises()
REGIONS = [(e, r) for e in EXERCISES for r in e.regions]


def _label(item):
    exercise, region = item
    return f"{exercise.name}:{region.part or '-'}"


def test_there_are_at_least_eleven_exercises_with_unique_names():
    names = [e.name for e in EXERCISES]
    assert len(names) >= 11 and len(set(names)) == len(names)


@pytest.mark.parametrize("item", REGIONS, ids=map(_label, REGIONS))
def test_each_region_is_marked_exactly_once(item):
    exercise, region = item
    assert markers.read(ROOT / region.file, exercise.name, region.part).strip()


def test_every_marker_in_the_code_belongs_to_an_exercise():
    known = {(e.name, r.part, r.file) for e, r in REGIONS}
    for (name, part), files in markers.names_in(ROOT).items():
        for path in files:
            assert (name, part, str(path.relative_to(ROOT))) in known, (name, part, path)


def _with(exercise, texts, region, folder):
    """Return the region's file as it reads with `texts` put in (on a copy in `folder`)."""
    copy = folder / "copy.py"
    copy.write_text((ROOT / region.file).read_text())
    markers.replace(copy, exercise.name, region.part, texts[region.part])
    return copy.read_text()


@pytest.mark.parametrize("item", REGIONS, ids=map(_label, REGIONS))
def test_the_starting_point_and_every_wrong_fix_compile(item, tmp_path):
    exercise, region = item
    variants = [scratch.starting_point(exercise)]
    variants += [fix.code for fix in exercise.wrong if region.part in fix.code]
    for texts in variants:
        compile(_with(exercise, texts, region, tmp_path), region.file, "exec")


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_each_exercise_names_tests_and_reading_that_exist(exercise):
    for test in (t for t in exercise.check.tests if t.startswith("tests/")):
        assert (ROOT / test.split("::")[0]).exists(), test
    for reading in exercise.read_first:
        assert (ROOT / re.split(r" \(", reading)[0]).exists(), reading
    assert exercise.wrong or exercise.name == "fraud-check", "a repair needs a wrong fix"
