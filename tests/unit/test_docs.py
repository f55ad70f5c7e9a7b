"""The docs name only files, make targets, ports, modules, settings and teaching comments that exist.

Scans README.md, docs/*.md and the two variants' READMEs. What counts as a reference:
- a path in a code span (`shared/domain/rules.py`, `orders-choreo/*/subscriptions.py`) or a relative
  link target; resolved from the page's folder, then from the repository root. Placeholders
  (<order_id>, {order_id}) are not paths; var/, reports/ and .venv/ are made by the commands;
  a bare file name (`saga.py`, in a table about one folder) must be the name of some file,
  or of one the code writes (its name is a string in the code).
- `make X` in a code span, or at the start of a line of a code block (fenced or indented);
- `localhost:N` / `127.0.0.1:N` anywhere: a port of shared/runtime/config.py's DEFAULT_PORTS, an
  orchestrator replica's (8025 and up), the broker's 5672, the runner's PostgreSQL, 15672
  (RabbitMQ's management UI) when the compose setup mentions it, or a port the compose file
  publishes (the Locust web UI);
- `python -m X` anywhere;
- an environment variable (FOO_BAR) in a code span;
- "Trade-off N" anywhere, against the `# Trade-off N:` comments in the code;
- a unified diff in a code block: it must still apply to the code (`git apply --check`), and
  the files it creates count as existing on that page.
"""
import importlib.util
import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from shared.runtime import config

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "orders-choreo" / "README.md",
                ROOT / "orders-orch" / "README.md", *(ROOT / "docs").glob("*.md")])
MADE_BY_COMMANDS = ("var", "reports", ".venv")
SKIP_DIRS = {".git", ".venv", "var", "reports", "node_modules", "__pycache__", ".pytest_cache",
             ".hypothesis"}
CODE_SUFFIXES = {".py", ".sh", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".conf", ".env",
                 ".example", ".txt"}
FILE_SUFFIXES = (".py", ".md", ".sh", ".toml", ".txt", ".yml", ".yaml", ".json", ".cfg", ".ini",
                 ".conf", ".csv", ".html")
ENV_VAR = re.compile(r"^([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=\S*)?$")
PORT = re.compile(r"(?:localhost|127\.0\.0\.1):(\d+)")
PYTHON_M = re.compile(r"python3?\s+-m\s+([A-Za-z_][\w.]*)")
TRADE_OFF_REF = re.compile(r"Trade-offs? (\d+(?:(?:, | and | or |, and )\d+)*)")
TRADE_OFF_CODE = re.compile(r"#\s*Trade-off (\d+):")
FENCE = re.compile(r"^\s*(```|~~~)")


# --- reading the pages ------------------------------------------------------------------

def _split(page):
    """Return (prose lines, code blocks) of a page; each line as (number, text)."""
    prose, blocks, block, fence = [], [], None, None
    for number, line in enumerate(page.read_text().splitlines(), 1):
        mark = FENCE.match(line)
        if block is None and mark:
            block, fence = [], mark.group(1)
        elif block is not None and line.strip().startswith(fence):
            blocks.append(block)
            block = None
        elif block is not None:
            block.append((number, line))
        else:
            prose.append((number, line))
    return prose, blocks


def _spans(page):
    """Yield (line, text) of every inline code span in the page's prose."""
    prose, _ = _split(page)
    for number, line in prose:
        for span in re.findall(r"``?([^`]+?)``?", line):
            yield number, span.strip()


def _links(page):
    """Yield (line, target) of every Markdown link in the page's prose."""
    prose, _ = _split(page)
    for number, line in prose:
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            yield number, target


def _everywhere(page):
    """Yield (line, text) of every line of the page, prose and code."""
    yield from enumerate(page.read_text().splitlines(), 1)


def _cited(line):
    """Return the trade-off numbers a line cites: "Trade-off 3", "Trade-offs 3 and 4"."""
    return [int(n) for group in TRADE_OFF_REF.findall(line) for n in re.findall(r"\d+", group)]


def _where(page, number):
    return f"{page.relative_to(ROOT)}:{number}"


# --- what exists ------------------------------------------------------------------------

def _project_paths():
    """Every file and folder of the project, never looking into SKIP_DIRS: CI's other lanes
    create and delete copies of the project under var/ meanwhile (a walk into one that vanished
    failed once with FileNotFoundError)."""
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIP_DIRS]
        for name in subfolders + files:
            yield Path(folder) / name


@lru_cache(maxsize=None)
def _code_files():
    found = []
    for path in _project_paths():
        if not path.is_file():
            continue
        if path.name == Path(__file__).name or path.suffix == ".md":
            continue
        if path.suffix in CODE_SUFFIXES or path.name in ("Makefile", "Dockerfile", "run"):
            found.append(path)
    return found


@lru_cache(maxsize=None)
def _names_in_repo():
    return {p.name for p in _project_paths()}


@lru_cache(maxsize=None)
def _code_text():
    return "\n".join(p.read_text(errors="replace") for p in _code_files())


@lru_cache(maxsize=None)
def _make_targets():
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.M))


@lru_cache(maxsize=None)
def _trade_offs_in_code():
    found = {}
    for path in _code_files():
        for number in TRADE_OFF_CODE.findall(path.read_text(errors="replace")):
            found.setdefault(int(number), []).append(str(path.relative_to(ROOT)))
    return found


def _allowed_ports():
    ports = {p for ports in config.DEFAULT_PORTS.values() for p in ports.values()}
    ports |= {config.orchestrator_port(replica) for replica in range(1, 9)}  # 8025 and up
    ports.add(5672)  # the broker (AMQP)
    ports.add(config.DEFAULT_WATCH_PORT)  # the page that watches both variants (watch/)
    postgres = ROOT / "runner" / "postgres.py"  # the PostgreSQL the runner starts, if any
    if postgres.exists():
        ports |= {int(p) for p in re.findall(r"^DEFAULT_PORT = (\d+)", postgres.read_text(), re.M)}
    compose = [p for p in ROOT.glob("*compose*.y*ml")] + [ROOT / "docs" / "deploy.md"]
    if any(p.exists() and "15672" in p.read_text() for p in compose):
        ports.add(15672)  # RabbitMQ's management UI, when the compose setup publishes it
    overlays = list((ROOT / "deploy").glob("compose*.y*ml"))  # CLUSTER=3, TRACING=jaeger, ...
    for path in [*ROOT.glob("*compose*.y*ml"), *overlays]:  # every port the compose setup publishes
        published = re.findall(r"[\"' ](?:127\.0\.0\.1:)?(\d{2,5}):\d{2,5}[\"']", path.read_text())
        ports |= {int(p) for p in published}
    return ports


def _created_by_diffs(page):
    """Return the paths a diff on this page creates (they exist once the diff is applied)."""
    return set(re.findall(r"^\+\+\+ b/(\S+)", page.read_text(), flags=re.M))


def _path_exists(page, text):
    candidate = text.split("#")[0].rstrip(":,.")
    if candidate.startswith("./"):
        candidate = candidate[2:]
    if candidate.split("/")[0] in MADE_BY_COMMANDS:
        return True
    if candidate in _created_by_diffs(page) or any(
            p.startswith(candidate.rstrip("/") + "/") for p in _created_by_diffs(page)):
        return True
    if "/" not in candidate.rstrip("/"):  # a bare name, e.g. `saga.py` in a table of a folder
        name = candidate.rstrip("/")  # a file of the repo, or one the code writes (report.html)
        return name in _names_in_repo() or f'"{name}"' in _code_text()
    for base in (page.parent, ROOT):
        if any(ch in candidate for ch in "*?["):
            if list(base.glob(candidate.rstrip("/"))):
                return True
        elif (base / candidate).exists():
            return True
    return False


def _looks_like_path(span):
    if " " in span or any(ch in span for ch in "<>{}$=\"'()|") or "://" in span:
        return False
    if span.startswith(("/", "-", "~", "@", "...")) or span.count(":"):
        return False  # URL paths of the API, options, and host:port pairs are not files
    return "/" in span or span.endswith(FILE_SUFFIXES)


def _module_exists(name):
    parts = name.split(".")
    for base in (ROOT, ROOT / "orders-choreo", ROOT / "orders-orch"):
        target = base.joinpath(*parts)
        if target.with_suffix(".py").is_file() or (target / "__main__.py").is_file():
            return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _env_var_exists(name):
    if re.search(rf"\b{name}\b", _code_text()):
        return True
    # Families built at run time, e.g. f"{service.upper()}_PORT" gives PAYMENTS_PORT.
    suffixes = set(re.findall(r"\{[\w.]+\.upper\(\)\}(_[A-Z0-9_]+)", _code_text()))
    services = set(config.SERVICES) | {"orchestrator"}
    return any(name == s.upper() + suffix for s in services for suffix in suffixes)


# --- the checks -------------------------------------------------------------------------

def test_the_docs_check_reads_the_pages_it_is_meant_to_check():
    names = {str(p.relative_to(ROOT)) for p in PAGES}
    assert {"README.md", "orders-choreo/README.md", "orders-orch/README.md"} <= names
    assert sum(1 for page in PAGES for _ in _spans(page)) > 100
    assert "demo" in _make_targets() and "test" in _make_targets()


def test_every_path_the_docs_name_in_code_or_in_a_link_exists():
    missing = []
    for page in PAGES:
        for number, span in _spans(page):
            if _looks_like_path(span) and not _path_exists(page, span):
                missing.append(f"{_where(page, number)}: `{span}`")
        for number, target in _links(page):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # web addresses and anchors within the page
            if not _path_exists(page, target):
                missing.append(f"{_where(page, number)}: link to {target}")
    assert not missing, "\n".join(missing)


def test_every_make_command_in_the_docs_is_a_target_of_the_makefile():
    unknown = []
    for page in PAGES:
        commands = [(n, s) for n, s in _spans(page) if s.startswith("make ")]
        indented = [(n, line) for n, line in _split(page)[0] if line.startswith("    ")]
        for block in [*_split(page)[1], indented]:
            commands += [(n, line.strip().lstrip("$ ")) for n, line in block
                         if re.match(r"^\s*(\$\s*)?([A-Z_]+=\S+\s+)*make\s", line)]
        for number, command in commands:
            words = command.split("#")[0].split()
            for word in words[words.index("make") + 1:]:
                if "=" in word or word.startswith("-") or re.search(r"[<{]", word):
                    continue  # variables, options and placeholders such as up-<variant>
                if word not in _make_targets():
                    unknown.append(f"{_where(page, number)}: make {word}")
    assert not unknown, "\n".join(unknown)


def test_every_local_port_in_the_docs_is_one_the_project_listens_on():
    allowed, wrong = _allowed_ports(), []
    for page in PAGES:
        added = _added_by_diffs(page)  # a diff's new lines show a change, not the project
        for number, line in _everywhere(page):
            wrong += [f"{_where(page, number)}: port {port}" for port in PORT.findall(line)
                      if int(port) not in allowed and number not in added]
    assert not wrong, "\n".join(wrong)


def test_every_python_module_the_docs_run_can_be_found():
    missing = []
    for page in PAGES:
        for number, line in _everywhere(page):
            missing += [f"{_where(page, number)}: python -m {name}"
                        for name in PYTHON_M.findall(line) if not _module_exists(name)]
    assert not missing, "\n".join(missing)


def test_every_environment_variable_the_docs_name_is_read_somewhere_in_the_code():
    unknown = []
    for page in PAGES:
        for number, span in _spans(page):
            match = ENV_VAR.match(span)
            if match and not _env_var_exists(match.group(1)):
                unknown.append(f"{_where(page, number)}: {match.group(1)}")
    assert not unknown, "\n".join(unknown)


def test_every_trade_off_the_docs_cite_is_a_numbered_comment_in_the_code():
    in_code, missing = _trade_offs_in_code(), []
    for page in PAGES:
        for number, line in _everywhere(page):
            missing += [f"{_where(page, number)}: Trade-off {n}"
                        for n in _cited(line) if n not in in_code]
    assert not missing, "\n".join(missing)


def test_each_trade_off_number_is_used_once_in_the_code_and_cited_by_the_docs():
    cited = {n for page in PAGES for _, line in _everywhere(page) for n in _cited(line)}
    in_code = _trade_offs_in_code()
    twice = {n: files for n, files in in_code.items() if len(files) > 1}
    assert not twice, f"numbers used more than once: {twice}"
    uncited = sorted(set(in_code) - cited)
    assert not uncited, f"trade-offs no page cites: {uncited}"


def _added_by_diffs(page):
    """Return the numbers of the lines a diff on the page adds (`+...`, not `+++ b/...`)."""
    return {number for block in _split(page)[1] for number, line in block
            if line.startswith("+") and not line.startswith("+++")
            and any(re.match(r"--- (a/|/dev/null)", text) for _, text in block)}


def _diffs(page):
    for block in _split(page)[1]:
        text = "\n".join(line for _, line in block) + "\n"
        if re.search(r"^--- (a/|/dev/null)", text, flags=re.M) and "\n+++ b/" in text:
            yield block[0][0], text


@pytest.mark.skipif(shutil.which("git") is None, reason="git checks that a diff applies")
def test_every_diff_the_docs_show_still_applies_to_the_code():
    failing = []
    for page in PAGES:
        for number, text in _diffs(page):
            check = subprocess.run(["git", "apply", "--check", "-"], input=text, text=True,
                                   cwd=ROOT, capture_output=True)
            if check.returncode != 0:
                failing.append(f"{_where(page, number)}: {check.stderr.strip()[:300]}")
    assert not failing, "\n".join(failing)
