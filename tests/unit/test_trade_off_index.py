"""The Trade-off index in docs/reliability.md is complete and points at the code.

Every numbered teaching comment in the code has its row; every row names a file that holds
that comment; every number below the highest is either a comment or in the index's list of
numbers that may have none (with its reason beside it in the doc).
"""
import re

from tests.unit.test_docs import ROOT, _trade_offs_in_code

INDEX = ROOT / "docs" / "reliability.md"
ROW = re.compile(r"^\| Trade-off (\d+) \| `([^`]+)` \|", re.M)
UNUSED = re.compile(r"^Numbers that may have no comment: ([\d, -]+)\.", re.M)


def rows(text):
    """Return {number: file} of the index table."""
    found = {}
    for number, path in ROW.findall(text):
        assert int(number) not in found, f"Trade-off {number} has two rows"
        found[int(number)] = path
    return found


def unused(text):
    """Return the numbers the index says may have no comment (`20-24, 27` and the like)."""
    listed = UNUSED.search(text)
    assert listed, "the index lists the numbers that may have no comment"
    numbers = set()
    for part in listed.group(1).split(","):
        low, _, high = part.strip().partition("-")
        numbers |= set(range(int(low), int(high or low) + 1))
    return numbers


def missing_rows(text, in_code):
    return sorted(n for n in in_code if n not in rows(text))


def wrong_rows(text):
    comment = lambda n: re.compile(rf"#\s*Trade-off {n}:")  # noqa: E731
    return [f"Trade-off {n}: {path}" for n, path in sorted(rows(text).items())
            if not (ROOT / path).is_file() or not comment(n).search((ROOT / path).read_text())]


def unexplained_gaps(text, in_code):
    return sorted(set(range(1, max(in_code) + 1)) - set(in_code) - unused(text))


def test_every_trade_off_comment_has_its_row_in_the_index():
    assert not missing_rows(INDEX.read_text(), _trade_offs_in_code())


def test_every_row_of_the_index_names_a_file_that_holds_its_comment():
    assert not wrong_rows(INDEX.read_text())


def test_every_number_without_a_comment_is_explained():
    assert not unexplained_gaps(INDEX.read_text(), _trade_offs_in_code())


# --- the checks catch what they are for ----------------------------------------------------------

def test_a_comment_without_a_row_a_row_without_its_comment_and_a_silent_gap_are_caught():
    text = INDEX.read_text()
    without_row = ROW.sub(lambda m: "" if m.group(1) == "31" else m.group(0), text)
    assert missing_rows(without_row, _trade_offs_in_code()) == [31]
    moved = text.replace("| Trade-off 31 | `orders-orch/orders/handover.py`",
                         "| Trade-off 31 | `orders-orch/orchestrator/saga.py`")
    assert wrong_rows(moved) == ["Trade-off 31: orders-orch/orchestrator/saga.py"]
    silent = text.replace("Numbers that may have no comment: 20-24,",
                          "Numbers that may have no comment:")
    assert unexplained_gaps(silent, _trade_offs_in_code()) == [20, 21, 22, 23, 24]
