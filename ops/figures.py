"""Every measured figure in the docs comes from one recorded run: render them, check the rest.

The records are docs/runs/<name>.json, one per published run (load/record.py writes them:
machine, date, commit, settings, figures). The docs use them in two ways:

- a rendered region, written by this tool between two markers, e.g.
      <!-- figures: demo-table 20261206-033534 -->
      ...the table, with its run's date, commit and machine...
      <!-- /figures -->
  TEMPLATES names what can go between them. `make figures` rewrites every region from the
  records; nothing between the markers is edited by hand.
- a figure written by hand in prose (a number followed by orders/s, CPU-ms, ms/order, spans
  per order, "% of the periods" (throttled), or `xN its floor`, or a number in a table whose
  header measures). Its paragraph (or the paragraph before its table) must link the record it
  comes from (`runs/<name>.json`), and the number must be one of that record's figures as the
  reports round them (Trade-off 105).
- a figure whose report is gone stays only where the reader sees how old it is: in a section,
  or a paragraph and the table right after it, that opens with `*Older run, no record:` and
  names a date and a commit, or in a table row that says "older run, no record:", a date and
  a commit.

    python -m ops.figures            (make figures: rewrite the regions, list any other problem)
    python -m ops.figures --check    (change nothing; exit 1 when a region is stale or a
                                      figure disagrees with its record or cites none)
    python -m ops.figures --replace OLD NEW   (cite record NEW wherever the pages cite OLD,
                                      then render: what make publish-run REPLACES=OLD runs)

tests/unit/test_figures.py runs the check in `make test`.
"""
import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGION = re.compile(r"(<!-- figures: (?P<template>[\w-]+) (?P<names>[^>]*?) -->\n)"
                    r"(?P<body>.*?)(<!-- /figures -->)", re.S)
NUMBER = r"\d[\d,]*(?:\.\d+)?"
# Trade-off 105: a figure written by hand is recognised by its unit (orders/s, CPU-ms, ms/order,
# spans per order, "its floor") or by standing in a table whose header measures, so prose keeps
# plain numbers with no markup around each. The cost: a figure in another unit (a percentage, a
# latency in ms in a sentence) escapes the check, and the rule above must grow to catch it; and
# a figure is checked against every number of the records it cites, not against the one field
# it names, so a number taken from the wrong row of the right record still passes.
FIGURE = re.compile(rf"(?<![\w.-])({NUMBER})(?=\s*(?:finished )?(?:orders/s|orders a second|"
                    rf"CPU-ms|CPU ms|ms/order|spans per|% of the periods))"
                    rf"|(?<![\w.])x({NUMBER})(?= its floor)")
MEASURING_HEADER = re.compile(r"orders/s|finished/s|CPU|p50|peak")
NUMERIC_CELL = re.compile(r"^[\d.,/()\s*x-]+$")
CITED = re.compile(r"runs/([\w.-]+)\.json")
OLDER = re.compile(r"^\*Older run, no record:.*?\d{4}-\d\d-\d\d.*?commits?\s+[0-9a-f]{7}", re.S)
OLDER_ROW = re.compile(r"older run, no record: [^|]*?\d{4}-\d\d-\d\d[^|]*?commits?\s+[0-9a-f]{7}",
                       re.I)


def pages(root=ROOT):
    """Return the pages whose figures must come from records."""
    return sorted([root / "README.md", *root.glob("orders-*/README.md"),
                   *(root / "docs").glob("*.md")])


def load(root, name):
    """Return the record docs/runs/<name>.json."""
    return json.loads((root / "docs" / "runs" / f"{name}.json").read_text())


# --- rendering -------------------------------------------------------------------------------

def link(page, root, name):
    """Return the record's path relative to the page, for a Markdown link."""
    target = root / "docs" / "runs" / f"{name}.json"
    return "runs/" + target.name if page.parent == root / "docs" else str(target.relative_to(root))


def provenance(record, page, root):
    """Return the sentence that says which run a figure comes from."""
    machine = record["machine"]
    inferred = "inferred" in record.get("commit_how", "")
    commit = record["commit"] + (" (inferred)" if inferred else "")
    return (f"`make {record['kind']}` on {record['date']}, commit {commit}, {machine.get('cpu')}"
            f" {machine.get('cores')} cores; record [{record['name']}]"
            f"({link(page, root, record['name'])})")


def _spread(figure, digits=1):
    if figure is None:
        return "-"
    if figure["low"] == figure["high"]:
        return f"{figure['median']:.{digits}f}"
    return f"{figure['median']:.{digits}f} ({figure['low']:.{digits}f}-{figure['high']:.{digits}f})"


def _peak(figure):
    """A demo's peak: median and spread (a record from before 2026-12-07 kept the median
    run's peak alone)."""
    return _spread(figure) if isinstance(figure, dict) else f"{figure:.1f}"


def _ms(cuts, which=("p50", "p95")):
    return "/".join("-" if cuts[c] is None else f"{cuts[c]:.0f}" for c in which)


def demo_table(records, page, root):
    """The load scenarios of one `make demo`: one row per scenario and variant."""
    record = records[0]
    rows = ["| scenario | variant | finished orders/s | peak/s (users) | POST p50/p95 ms | "
            "completion p50/p95 ms | 429 shed | CPU ms/order | audit |", "|---|" * 1 + "---|" * 8]
    for key, f in record["figures"].items():
        if "/" not in key:  # the floor, the demo's length
            continue
        scenario, variant = key.split("/")
        rows.append(f"| {scenario} | {variant} | {_spread(f['finished_per_s'])} | "
                    f"{_peak(f['peak_per_s'])} ({f['peak_users']}) | {_ms(f['post_ms'])} | "
                    f"{_ms(f['completion_ms'])} | {f['shed_429']} | {f['cpu_ms_per_order']} | "
                    f"{f['audit']} |")
    settings = record["settings"]
    runs = "one run each" if settings["runs"] == 1 else f"median of {settings['runs']} runs"
    return (f"{provenance(record, page, root)}; CPU budgets {', '.join(settings['budget'])}, "
            f"{runs}.\n\n" + "\n".join(rows) + "\n")


def bench_table(records, page, root):
    """The drain benchmark: each db/variant's rate, CPU per order, floor multiple, and run."""
    rows = ["| db | variant | finished orders/s | CPU-ms per order | its floor, CPU-ms | "
            "multiple | run |", "|---|---|---|---|---|---|---|"]
    for number, record in enumerate(records, 1):
        for key, f in record["figures"].items():
            if "/" not in key:
                continue
            db, variant = key.split("/")
            multiple = "-" if f["floor_multiple"] is None else "x" + _spread(f["floor_multiple"])
            rows.append(f"| {db} | {variant} | {_spread(f['orders_per_s'])} | "
                        f"{_spread(f['cpu_ms_per_order'])} | {f['floor_cpu_ms']} | "
                        f"{multiple} | {number} |")
    runs = "\n".join(f"{n}. {provenance(r, page, root)}: {r['settings']['orders']} orders, "
                     f"{r['settings']['runs']} runs, budgets {r['settings']['budget']}."
                     for n, r in enumerate(records, 1))
    return "\n".join(rows) + "\n\nMedian (lowest-highest) of the runs. Runs:\n\n" + runs + "\n"


def floor_table(records, page, root):
    """The floor: a bare AMQP round trip and a bare HTTP one, per run that measured it."""
    rows = ["| run | AMQP round trips/s | AMQP CPU-ms | HTTP round trips/s | HTTP CPU-ms |",
            "|---|---|---|---|---|"]
    for record in records:
        floor = record["figures"]["floor"]
        rows.append(f"| {provenance(record, page, root)} | {floor['amqp']['per_s']:.0f} | "
                    f"{floor['amqp']['cpu_ms']:.2f} | {floor['http']['per_s']:.0f} | "
                    f"{floor['http']['cpu_ms']:.2f} |")
    return "\n".join(rows) + "\n"


def trace_cost_table(records, page, root):
    """`make trace-cost`: each variant's CPU-ms per order with tracing off and on, the cost,
    and the spans an order made (a record of several rounds: their median and spread; an older
    one: one drain each, and no count of spans: `-`)."""
    rows = ["| variant | tracing off | tracing on | cost | spans per order | run |",
            "|---|---|---|---|---|---|"]
    for record in records:
        for variant, f in record["figures"].items():
            spans = _rounds(f["spans_per_order"]) if "spans_per_order" in f else "-"
            rows.append(f"| {variant} | {_rounds(f['off']['cpu_ms_per_order'])} CPU-ms per "
                        f"order | {_rounds(f['on']['cpu_ms_per_order'])} CPU-ms per order | "
                        f"{_rounds(f['cost_ms'], '+.1f')} CPU-ms | {spans} | "
                        f"{provenance(record, page, root)} |")
    return "\n".join(rows) + "\n"


def _rounds(figure, form=".1f"):
    """A figure of one drain (a number) or of several rounds: `median (lowest to highest)`."""
    if not isinstance(figure, dict):
        return f"{figure:{form}}"
    if figure["low"] == figure["high"]:
        return f"{figure['median']:{form}}"
    return f"{figure['median']:{form}} ({figure['low']:{form}} to {figure['high']:{form}})"


def run_line(records, page, root):
    """One line per run: which run, where and when, and its record."""
    return "".join(f"{provenance(r, page, root)}.\n" for r in records)


TEMPLATES = {"demo-table": demo_table, "bench-table": bench_table, "floor-table": floor_table,
             "trace-cost-table": trace_cost_table, "run": run_line}


def render(page, root=ROOT, text=None):
    """Return the page's text with every region rendered from its records."""
    def one(found):
        records = [load(root, name) for name in found["names"].split()]
        body = TEMPLATES[found["template"]](records, page, root)
        return found.group(1) + body + found.group(5)
    return REGION.sub(one, page.read_text() if text is None else text)


# --- checking the figures written by hand ----------------------------------------------------

def blocks(text):
    """Yield (line number, block, older) for each paragraph, list item or table outside the
    rendered regions; `older` when it, or a section it is in, opens as an older run."""
    text = REGION.sub(lambda m: m.group(1) + "\n" * m["body"].count("\n") + m.group(5), text)
    sections, lines, start = [], [], 0  # sections: [heading level, older or None (undecided)]
    for number, line in _prose(text):
        heading = re.match(r"^(#+) ", line)
        if lines and (not line.strip() or heading or re.match(r"^\s*(?:- |\d+\. )", line)):
            yield start, "\n".join(lines), _older(sections, "\n".join(lines))
            lines = []
        if heading:
            sections = [s for s in sections if s[0] < len(heading.group(1))]
            sections.append([len(heading.group(1)), None])
        elif line.strip():
            start = start if lines else number
            lines.append(line)


def _prose(text):
    """Yield (line number, line) outside fenced code blocks (an example's output is no figure
    of a run, and a `#` in a shell block is no heading); a blank line where a block was."""
    fence = None
    for number, line in enumerate(text.splitlines() + [""], 1):
        mark = re.match(r"^\s*(```|~~~)", line)
        if mark and fence is None:
            fence = mark.group(1)
        elif fence and line.strip().startswith(fence):
            fence = None
        yield number, "" if fence or mark else line


def _older(sections, block):
    """Say whether a block is of an older run: it opens as one, or the section it is in did
    (the first block of a section decides)."""
    marked = bool(OLDER.match(block))
    if sections and sections[-1][1] is None:
        sections[-1][1] = marked
    return marked or any(older for _, older in sections)


def figures_in(block):
    """Return the measured figures a block states, as the texts of their numbers."""
    rows = [r for r in block.splitlines() if r.startswith("|")]
    if rows:  # a table row may be of an older run, marked in its own cells
        block = "\n".join(r for r in block.splitlines() if not OLDER_ROW.search(r))
    found = [a or b for a, b in FIGURE.findall(block)]
    if rows and MEASURING_HEADER.search(rows[0]):
        for row in [r for r in rows[2:] if not OLDER_ROW.search(r)]:
            for cell in row.strip("|").split("|"):
                cell = cell.replace("(one run)", "").strip()
                if NUMERIC_CELL.match(cell):
                    found += re.findall(NUMBER, cell)
    return found


def values(record):
    """Return every number among a record's figures."""
    def walk(node):
        if isinstance(node, dict):
            for v in node.values():
                yield from walk(v)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            yield node
    return list(walk(record["figures"]))


def matches(text, numbers):
    """Say whether a figure as written is one of the numbers, rounded as written."""
    plain = text.replace(",", "")
    digits = len(plain.split(".")[1]) if "." in plain else 0
    return any(f"{n:.{digits}f}" == plain for n in numbers)


def problems(page, root=ROOT):
    """Return what is wrong with a page's figures: stale regions, figures without a record or
    disagreeing with the one cited."""
    text, found = page.read_text(), []
    where = page.relative_to(root)
    if render(page, root, text) != text:
        found.append(f"{where}: a rendered region is out of date (make figures)")
    previous, previous_older = "", False
    for line, block, older in blocks(text):
        table = block.startswith("|")  # a table takes its run from the paragraph before it
        cited = CITED.findall(block) or (CITED.findall(previous) if table else [])
        older = older or (table and previous_older)
        previous, previous_older = block, older
        figures = figures_in(block)
        if older or not figures:
            continue
        found += _against(where, line, figures, cited, root)
    return found


def _against(where, line, figures, cited, root):
    """Return the problems of one block's figures against the records it cites."""
    if not cited:
        return [f"{where}:{line}: figures {', '.join(figures)} cite no record (runs/<name>.json)"]
    missing = [n for n in cited if not (root / "docs" / "runs" / f"{n}.json").exists()]
    if missing:
        return [f"{where}:{line}: cites records that do not exist: {missing}"]
    numbers = [v for name in cited for v in values(load(root, name))]
    wrong = [f for f in figures if not matches(f, numbers)]
    return [f"{where}:{line}: {', '.join(wrong)} not in {', '.join(cited)}"] if wrong else []


def replace(old, new, root=ROOT):
    """Make every page cite record `new` where it cited `old`: in the regions' markers and in
    the links of the prose, with a link's text when that was the old record's name. The
    prose's figures then meet the new record's in the check."""
    marker = re.compile(rf"(<!-- figures: [\w-]+ [^>]*?)\b{re.escape(old)}\b")
    named = re.compile(rf"\[{re.escape(old)}\]\(([^)\s]*?)runs/{re.escape(old)}\.json\)")
    for page in pages(root):
        text = page.read_text()
        changed = marker.sub(lambda m: m.group(1) + new, text)
        changed = named.sub(lambda m: f"[{new}]({m.group(1)}runs/{new}.json)", changed)
        changed = changed.replace(f"runs/{old}.json", f"runs/{new}.json")
        while marker.search(changed):  # a marker naming the old record twice
            changed = marker.sub(lambda m: m.group(1) + new, changed)
        if changed != text:
            page.write_text(changed)


def main(argv=None):
    """Rewrite the regions (or only check them); print every problem; exit 1 on any."""
    parser = argparse.ArgumentParser(prog="python -m ops.figures",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing, exit 1 on a problem")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--replace", nargs=2, metavar=("OLD", "NEW"),
                        help="cite record NEW wherever the pages cite OLD, then render")
    args = parser.parse_args(argv)
    if args.replace:
        replace(*args.replace, root=args.root)
    if not args.check:
        for page in pages(args.root):
            page.write_text(render(page, args.root))
    found = [p for page in pages(args.root) for p in problems(page, args.root)]
    print("\n".join(found) or "every figure comes from its record")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
