"""`python -m exercises`: list, start, check, hint, solution, wrong, reset, selftest.

The Makefile's targets (`make exercises`, `make exercise NAME=...`, ...) call these commands.
"""
import argparse
import sys
import textwrap

from exercises import catalog, checks, scratch, selftest


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m exercises", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the exercises and your progress")
    for name, text in (("start", "make a scratch copy with the guarantee taken out"),
                       ("check", "run the tests that decide it: PASS or FAIL"),
                       ("hint", "print the hint"),
                       ("solution", "put the reference solution into the scratch copy"),
                       ("reset", "delete the scratch copy and the progress")):
        commands.add_parser(name, help=text).add_argument("name")
    wrong = commands.add_parser("wrong", help="put one known wrong fix into the scratch copy")
    wrong.add_argument("name")
    wrong.add_argument("fix", nargs="?", help="the wrong fix's name (none: list them)")
    test = commands.add_parser("selftest", help="every exercise: removed fails, solution "
                               "passes, each wrong fix fails")
    test.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2


def listing(_args):
    known = scratch.progress()
    for number, exercise in enumerate(catalog.all_exercises(), 1):
        status = known.get(exercise.name, scratch.NOT_STARTED)
        print(f"{number:2}. {exercise.name:24} {status:12} {exercise.title}")
    print("\nStart one: make exercise NAME=<name>   (docs/exercises.md explains them)")
    return 0


def start(args):
    exercise, target = catalog.find(args.name), scratch.path(args.name)
    if target.exists():
        print(f"{args.name} is already started in {target}\n"
              f"(make reset-exercise NAME={args.name} to start again from scratch)")
        return 0
    scratch.copy_project(target)
    scratch.apply_code(target, exercise, scratch.starting_point(exercise))
    scratch.commit(target, f"exercise {exercise.name}: the starting point")
    scratch.record(exercise.name, scratch.STARTED)
    _describe(exercise, target)
    return 0


def _describe(exercise, target):
    print(f"Exercise {exercise.name}: {exercise.title}\n")
    print(_wrap(f"Lesson: {exercise.lesson}"))
    print(_wrap(f"It teaches: {exercise.teaches}"))
    print("Read first: " + ", ".join(exercise.read_first))
    print(_wrap(f"Your task: {exercise.todo}"))
    if exercise.regions:
        print("Where: " + ", ".join(sorted({r.file for r in exercise.regions}))
              + " (look for TODO(exercise " + exercise.name + "))")
    print(f"\nYour scratch copy: {target}\n  (your own checkout is not touched; "
          f"`git diff` in the copy shows your changes)")
    print(f"Check it: make check-exercise NAME={exercise.name}   "
          f"({exercise.check.tier} tier, about {exercise.check.seconds} s)")


def _wrap(text):
    return textwrap.fill(text, 96, subsequent_indent="  ")


def check(args):
    exercise, target = catalog.find(args.name), scratch.path(args.name)
    if not target.exists():
        print(f"{args.name} is not started: make exercise NAME={args.name}")
        return 2
    print(f"checking {args.name}: {' '.join(exercise.check.tests)} "
          f"({exercise.check.tier} tier, about {exercise.check.seconds} s)", flush=True)
    result = checks.run(target, exercise.check)
    if result.passed:
        scratch.record(exercise.name, scratch.PASSED)
        print(f"PASS: {exercise.name}.\n" + _wrap(f"What you should have seen: {exercise.seen}"))
        return 0
    print("\n".join(result.output.rstrip().splitlines()[-30:]))
    print(f"\nFAIL: {exercise.name}. " + _wrap(exercise.check.failure))
    for name in result.failed + result.errors:
        print(f"  failed: {name}")
    return 1


def hint(args):
    exercise = catalog.find(args.name)
    print(_wrap(f"Hint for {exercise.name}: {exercise.hint}"))
    print("Read first: " + ", ".join(exercise.read_first))
    return 0


def solution(args):
    exercise, target = catalog.find(args.name), scratch.path(args.name)
    if exercise.solution_page:
        return _page_solution(exercise, target)
    code = scratch.reference(exercise)
    for region in exercise.regions:
        print(f"--- {region.file} ({exercise.name} {region.part}".rstrip() + ")")
        print(code[region.part])
    if target.exists():
        scratch.apply_code(target, exercise, code)
        print(f"The reference solution is now in {target}; "
              f"make check-exercise NAME={exercise.name} should say PASS.")
    return 0


def _page_solution(exercise, target):
    if not target.exists():
        print(f"The solution is every diff of {exercise.solution_page}; "
              f"make exercise NAME={exercise.name} first to have it applied to a copy.")
        return 0
    blocks = scratch.apply_page_diffs(target, exercise.solution_page)
    print(f"Applied the {len(blocks)} diffs of {exercise.solution_page} to {target}; "
          f"make check-exercise NAME={exercise.name} should say PASS.")
    return 0


def wrong(args):
    exercise, target = catalog.find(args.name), scratch.path(args.name)
    fixes = {fix.name: fix for fix in exercise.wrong}
    if not args.fix or args.fix not in fixes:
        for fix in exercise.wrong:
            print(_wrap(f"{fix.name}: {fix.why}"))
        return 0 if not args.fix else 2
    if not target.exists():
        print(f"{args.name} is not started: make exercise NAME={args.name}")
        return 2
    scratch.apply_code(target, exercise, fixes[args.fix].code)
    print(f"The wrong fix {args.fix} is in {target}; its check should say FAIL.")
    return 0


def reset(args):
    catalog.find(args.name)
    scratch.remove(scratch.path(args.name))
    scratch.record(args.name, scratch.NOT_STARTED)
    print(f"{args.name}: scratch copy deleted, progress reset")
    return 0


COMMANDS = {"list": listing, "start": start, "check": check, "hint": hint,
            "solution": solution, "wrong": wrong, "reset": reset,
            "selftest": lambda args: selftest.main(args.names)}

if __name__ == "__main__":
    sys.exit(main())
