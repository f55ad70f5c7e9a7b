"""The README's reading order stays short and true.

Each answer points at a file and the function (or table) that decides it, in the form
`path` (`name`, ...). These checks keep every such name defined in its file, so the pointer
survives lines moving, and keep the path to at most 25 files, the number the section states.
"""
import re

from tests.unit.test_docs import ROOT

README = ROOT / "README.md"
POINTER = re.compile(r"`([\w./-]+\.py)`\s+\(([^)]*)\)")
NAME = re.compile(r"`([A-Za-z_][\w.]*)`")
FILE = re.compile(r"`([\w-]+/[\w./-]+\.(?:py|md))`|\]\(([\w./-]+\.md)\)")
STATED = re.compile(r"The whole path opens (\d+) files")
MOST = 25


def section(text):
    start = text.index("## Read in this order")
    return text[start:text.index("\n## ", start + 1)]


def pointers(text):
    """Yield (file, name) for every `file` (`name`) of the section."""
    for path, inside in POINTER.findall(section(text)):
        for name in NAME.findall(inside):
            yield path, name


def undefined(text):
    """Return the pointers whose name is not defined in their file."""
    wrong = []
    for path, name in pointers(text):
        code = (ROOT / path).read_text() if (ROOT / path).is_file() else ""
        owner, _, member = name.rpartition(".")
        found = (re.search(rf"^class {owner}\b", code, re.M) and
                 re.search(rf"^\s+def {member}\(", code, re.M)) if owner else \
            re.search(rf"^(?:def|class) {name}\b|^{name} = ", code, re.M)
        if not found:
            wrong.append(f"{path} ({name})")
    return wrong


def files(text):
    """Return the files a reader following the section opens (this test apart)."""
    named = {a or b for a, b in FILE.findall(section(text))}
    return {f for f in named if not f.startswith("tests/")}


def test_every_function_the_reading_order_names_is_defined_in_its_file():
    text = README.read_text()
    assert len(list(pointers(text))) >= 15
    assert not undefined(text)


def test_the_reading_order_opens_at_most_25_files_and_says_how_many():
    text = README.read_text()
    assert len(files(text)) <= MOST, sorted(files(text))
    assert STATED.search(section(text)).group(1) == str(len(files(text)))


def test_a_moved_or_renamed_function_is_caught():
    text = README.read_text()
    assert undefined(text.replace("(`_left_for_recovery`)", "(`_left_for_later`)")) == [
        "orders-orch/orchestrator/driver.py (_left_for_later)"]
    assert undefined(text.replace("(`Replica.recover_once`)", "(`Replica.recover_all`)"))
