"""What an exercise is, and the list of them (one module each, in the order to take them)."""
import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Region:
    """One marked region: the file it is in, and the code the learner starts from there
    (the guarantee taken out, the rest still running). `part` tells apart the regions of an
    exercise that has several (the marker's third word)."""
    file: str
    removed: str
    part: str = ""


@dataclass(frozen=True)
class WrongFix:
    """A plausible repair that does not restore the guarantee: its code per region part, and
    why it is wrong. The self-test applies it and requires the check to FAIL."""
    name: str
    why: str
    code: dict


@dataclass(frozen=True)
class Check:
    """The tests that decide an exercise, run in its scratch copy.

    `deciding`: `module::test` names (a prefix of the test's name is enough) of which at least
    one must fail when the guarantee is missing; `tier`: unit (no broker, seconds), integration
    (a real broker and database, under a minute) or variant (the whole system started by the
    runner); `seconds`: about how long the check takes on the reference machine."""
    # Trade-off 102: a check runs the fastest tests that decide its guarantee, not the suite:
    # seconds for most exercises, so a learner can try often. The price: a repair that breaks
    # something the chosen tests do not cover can still PASS; `make test` is the full answer.
    tests: tuple
    deciding: tuple
    tier: str
    seconds: int
    failure: str
    env: dict = field(default_factory=dict)  # set for the tests' run (e.g. FRAUD_EXERCISE)


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    lesson: str
    teaches: str
    read_first: tuple
    todo: str
    hint: str
    seen: str
    regions: tuple
    check: Check
    wrong: tuple = field(default=())
    # An exercise that adds a step instead of restoring one has no region: its reference
    # solution is every diff shown on this page (docs/change-cost.md), applied with git.
    solution_page: str = ""


ORDER = ("idempotent_consumer", "retry_backoff", "call_timeouts", "tolerant_reader", "fencing",
         "load_shedding", "transactional_outbox", "compensation",
         "crash_recovery", "dead_letters", "fraud_check")


def all_exercises():
    """Return every exercise, in the order to take them."""
    return [importlib.import_module(f"exercises.catalog.{module}").EXERCISE for module in ORDER]


def find(name):
    """Return the exercise called `name`; raise KeyError with the known names otherwise."""
    for exercise in all_exercises():
        if exercise.name == name:
            return exercise
    raise KeyError(f"no exercise {name!r}; `make exercises` lists them")
