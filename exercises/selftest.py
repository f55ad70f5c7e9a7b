"""The self-test (`make test-exercises`): every exercise, in a fresh copy, three ways.

1. removed (the starting point): its check must fail ON THE DECIDING TESTS, not by a collection
   or import error: a starting point that does not even load teaches nothing;
2. the reference solution: its check must pass;
3. each known wrong fix: its check must fail (its tests tell the right fix from the wrong one).

The copies live under var/exercises-selftest/, apart from the learner's own, and each check is
a pytest session of its own in a copy of its own (fresh brokers and databases under its var/).
"""
import time

from exercises import catalog, checks, scratch

HOME = scratch.ROOT / "var" / "exercises-selftest"


def main(names):
    chosen = [e for e in catalog.all_exercises() if not names or e.name in names]
    began, broken = time.monotonic(), []
    for exercise in chosen:
        broken += exercise_problems(exercise)
    print(f"\n{len(chosen)} exercise(s) in {time.monotonic() - began:.0f} s: "
          + ("all three ways hold" if not broken else f"{len(broken)} problem(s)"))
    for problem in broken:
        print(f"  {problem}")
    return 1 if broken else 0


def exercise_problems(exercise):
    """Return the problems of one exercise (empty when it holds all three ways)."""
    problems = []
    ways = [("removed", scratch.starting_point(exercise), exercise.check.deciding),
            ("solution", exercise.solution_page or scratch.reference(exercise), None)]
    ways += [(f"wrong fix {fix.name}", fix.code, exercise.check.deciding)
             for fix in exercise.wrong]
    for way, code, must_fail_on in ways:
        began = time.monotonic()
        result = _checked(exercise, code)
        ok = result.passed if must_fail_on is None else result.failed_on(must_fail_on)
        verdict = "PASS" if result.passed else "FAIL"
        print(f"{exercise.name:24} {way:32} {verdict} ({time.monotonic() - began:.0f} s)"
              + ("" if ok else "  <-- not as expected"), flush=True)
        if not ok:
            problems.append(f"{exercise.name}, {way}: {verdict}; failed {result.failed}, "
                            f"errors {result.errors}")
            print("\n".join(result.output.rstrip().splitlines()[-15:]))
    return problems


def _checked(exercise, code):
    # Trade-off 100: every way of every exercise gets a fresh copy and a pytest session of its
    # own, so one run's brokers, databases and edits cannot pass or fail the next. The price is
    # a copy (about a second) and, for broker exercises, a broker start (several seconds) per
    # run: most of the self-test's time.
    target = HOME / exercise.name
    scratch.remove(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch.copy_project(target)
    if isinstance(code, str):  # the diffs of a page (the fraud check)
        scratch.apply_page_diffs(target, code)
    else:
        scratch.apply_code(target, exercise, code)
    try:
        return checks.run(target, exercise.check)
    finally:
        scratch.remove(target)
