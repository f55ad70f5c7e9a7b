"""The marked regions: find the code between an exercise's markers and replace it.

A region is the lines strictly between `# exercise: <name> begin [part]` and the matching
`# exercise: <name> end [part]`. The markers stay in place, so a region can be replaced again
(removed, then solved, then given a wrong fix). Replacement text is written flush left in the
definitions and indented here like the begin marker, so the definitions read as plain code.
"""
import re
import textwrap
from pathlib import Path

MARKER = re.compile(r"^(?P<indent>\s*)# exercise: (?P<name>[\w-]+) (?P<edge>begin|end)"
                    r"(?: (?P<part>[\w-]+))?\s*$")


SKIP = {"var", ".venv", ".git", "__pycache__", "reports", "tests"}  # tests: examples in strings


class MarkerError(Exception):
    """A region's markers are missing, unpaired or duplicated: the exercise cannot be built."""


def _spans(lines, name, part):
    """Return (begin index, end index, indent) of every region of `name`/`part` in `lines`."""
    found, opened = [], None
    for number, line in enumerate(lines):
        mark = MARKER.match(line)
        if not mark or mark["name"] != name or (mark["part"] or "") != part:
            continue
        if mark["edge"] == "begin":
            if opened is not None:
                raise MarkerError(f"{name} {part}: a begin inside a begin (line {number + 1})")
            opened = (number, mark["indent"])
        elif opened is None:
            raise MarkerError(f"{name} {part}: an end without a begin (line {number + 1})")
        else:
            found.append((opened[0], number, opened[1]))
            opened = None
    if opened is not None:
        raise MarkerError(f"{name} {part}: a begin without an end (line {opened[0] + 1})")
    return found


def _one_span(path, name, part):
    lines = Path(path).read_text().splitlines(keepends=True)
    spans = _spans(lines, name, part)
    if len(spans) != 1:
        raise MarkerError(f"{path}: {len(spans)} regions marked '{name} {part}'; expected one")
    return lines, spans[0]


def read(path, name, part=""):
    """Return the code of a region, flush left (the reference solution as it stands)."""
    lines, (begin, end, _indent) = _one_span(path, name, part)
    return textwrap.dedent("".join(lines[begin + 1:end]))


def replace(path, name, part, text):
    """Put `text` (flush left) between the region's markers, indented like them."""
    lines, (begin, end, indent) = _one_span(path, name, part)
    body = textwrap.indent(textwrap.dedent(text).strip("\n") + "\n", indent,
                           lambda line: line.strip() != "")
    Path(path).write_text("".join(lines[:begin + 1]) + body + "".join(lines[end:]))


def names_in(root):
    """Return {(name, part): [files]} of every marker pair found under `root` (*.py files)."""
    found = {}
    for path in sorted(Path(root).rglob("*.py")):
        if SKIP & set(path.relative_to(root).parts):
            continue
        for line in path.read_text().splitlines():
            mark = MARKER.match(line)
            if mark and mark["edge"] == "begin":
                found.setdefault((mark["name"], mark["part"] or ""), []).append(path)
    return found
