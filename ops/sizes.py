"""How big is each style? Sizes counted from the imports, so that a reader can reproduce every
size the docs give with one command: `make sizes` (`python -m ops.sizes`).

How it counts:
- a variant is its tree (`orders-choreo/` or `orders-orch/`, every module in it) and every module
  under `shared/` that the tree imports, directly or through other shared modules, resolved the
  way the runner starts the variant's programs (PYTHONPATH=<root>:<root>/orders-<variant>,
  runner/processes.py). The orchestrated variant is one variant over either transport: its
  AMQP transport is in its tree and counts with it;
- an import counts wherever it is written (at the top of a module or inside a function), and
  importing `a.b.c` also runs `a/__init__.py` and `a/b/__init__.py`;
- a line counts when it is not blank (docstrings and comments count: they are the lesson too);
- what a module loads by name at run time (importlib) is not followed: the one such load in
  the lesson code, shared/messaging/topology.py, reads the choreographed subscriptions, which
  are in the variant's tree and counted with it anyway.
A style's size is its tree plus the shared modules that it alone reaches (its machinery wherever
it lives); the shared code both reach is counted apart, once.

The limits this layout keeps (tests/static/test_sizes.py fails when one comes back): at most
MAX_ONE_VARIANT_LINES shared lines reached by one variant only, none by neither, and at most
MAX_SHARED_ENTRIES entries at the top of `shared/`.
"""
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / "shared"
VARIANTS = ("choreo", "orch")
MAX_ONE_VARIANT_LINES = 150
MAX_SHARED_ENTRIES = 8


def lines(path):
    """Return the number of non-blank lines of a file."""
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def tree(variant):
    """Return the folder of a variant's own code."""
    return ROOT / f"orders-{variant}"


def modules_in(folder):
    """Return every Python module under a folder (caches left out)."""
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def imported_names(path):
    """Return the dotted names a module imports, at any depth of its code: for `from a import b`
    both `a` and `a.b` (b may be a module or a name defined in a)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = relative_base(path, node)
            if base:
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def relative_base(path, node):
    """Return the absolute dotted name a `from ... import` starts from."""
    if node.level == 0:
        return node.module or ""
    package = path.parents[node.level - 1]
    base = next(folder for folder in (*map(tree, VARIANTS), ROOT) if package.is_relative_to(folder))
    return ".".join([*package.relative_to(base).parts, *([node.module] if node.module else [])])


def resolve(name, search_path):
    """Return the files that importing a dotted name runs: each package's __init__.py on the
    way and the module itself; empty when the name is not a module of this repository."""
    for folder in search_path:
        found, here = [], folder
        for part in name.split("."):
            here = here / part
            if (here / "__init__.py").is_file():
                found.append(here / "__init__.py")
            elif here.with_suffix(".py").is_file():
                found.append(here.with_suffix(".py"))
                break
            else:
                break
        if found:
            return found
    return []


def reached(variant):
    """Return every repository module a variant's tree runs: its own and what they import."""
    search_path = (ROOT, tree(variant))
    seen, todo = set(), list(modules_in(tree(variant)))
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_names(path):
            todo.extend(resolve(name, search_path))
    return seen


@dataclass
class Size:
    """Files and non-blank lines of a set of modules."""
    files: int
    lines: int

    @classmethod
    def of(cls, paths):
        """Return the size of a set of module paths."""
        return cls(len(paths), sum(lines(path) for path in paths))


def shared_modules():
    """Return every module under shared/."""
    return set(modules_in(SHARED))


def shared_reach():
    """Return {variant: the shared modules it reaches}."""
    return {variant: reached(variant) & shared_modules() for variant in VARIANTS}


def census():
    """Return the counts the docs cite, as {name: set of modules}."""
    reach, everything = shared_reach(), shared_modules()
    choreo, orch = reach["choreo"], reach["orch"]
    return {"choreo tree": set(modules_in(tree("choreo"))),
            "orch tree": set(modules_in(tree("orch"))),
            "shared, choreo only": choreo - orch, "shared, orch only": orch - choreo,
            "shared, both": choreo & orch, "shared, neither": everything - choreo - orch}


def shared_entries():
    """Return the names at the top of shared/ (__init__.py and caches not counted)."""
    return sorted(entry.name for entry in SHARED.iterdir()
                  if entry.name not in ("__init__.py", "__pycache__"))


def broken_limits(counts=None):
    """Return a sentence for each limit of this layout that the code breaks (none: [])."""
    counts = counts or census()
    one_only = Size.of(counts["shared, choreo only"] | counts["shared, orch only"])
    broken = []
    if one_only.lines > MAX_ONE_VARIANT_LINES:
        broken.append(f"{one_only.lines} lines under shared/ are reached by one variant only "
                      f"(at most {MAX_ONE_VARIANT_LINES}): move them into that variant's tree")
    if counts["shared, neither"]:
        broken.append("modules under shared/ that no variant reaches: "
                      + ", ".join(rel(path) for path in sorted(counts["shared, neither"])))
    if len(shared_entries()) > MAX_SHARED_ENTRIES:
        broken.append(f"shared/ has {len(shared_entries())} top-level entries "
                      f"(at most {MAX_SHARED_ENTRIES}): {', '.join(shared_entries())}")
    return broken


def rel(path):
    """Return a path relative to the repository root."""
    return str(path.relative_to(ROOT))


def by_package(paths):
    """Return {"shared/<entry>": the paths under it}, in the order of the top of shared/."""
    groups = {}
    for path in sorted(paths):
        top = path.relative_to(SHARED).parts[0]
        groups.setdefault(f"shared/{top}" + ("/" if top != "__init__.py" else ""), set()).add(path)
    return groups


def report(counts):
    """Return the printed report: each style's size, the shared code apart, the layout's counts."""
    out = ["Counted from the imports; non-blank lines (python -m ops.sizes).",
           f"{'':<32}{'lines':>7}{'files':>7}"]
    for title, variant in (("choreography", "choreo"), ("orchestration", "orch")):
        own, alone = counts[f"{variant} tree"], counts[f"shared, {variant} only"]
        out.append(row(f"{title}, in all", own | alone))
        out.append(row(f"  orders-{variant}/", own))
        out.append(row("  shared/, this style alone", alone))
    out.append(row("shared by both styles", counts["shared, both"]))
    out.extend(row(f"  {package}", paths)
               for package, paths in by_package(counts["shared, both"]).items())
    for name in ("shared, choreo only", "shared, orch only", "shared, neither"):
        out.append(row(name, counts[name]))
        out.extend(f"    {lines(path):>5}  {rel(path)}" for path in sorted(counts[name]))
    out.append(f"shared/ top-level entries: {len(shared_entries())} (at most "
               f"{MAX_SHARED_ENTRIES}): {', '.join(shared_entries())}")
    return "\n".join(out)


def row(name, paths):
    """Return one line of the report: a name, its non-blank lines and its files."""
    size = Size.of(paths)
    return f"{name:<32}{size.lines:>7,}{size.files:>7}"


def main():
    counts = census()
    print(report(counts))
    broken = broken_limits(counts)
    for sentence in broken:
        print(f"LIMIT BROKEN: {sentence}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
