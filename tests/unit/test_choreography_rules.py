"""The choreographed services only publish and subscribe (C1), and notifications was added
without touching any other service (C2). Both are checked on the source itself."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHOREO = ROOT / "orders-choreo"
HTTP_CLIENTS = {"requests", "urllib", "urllib3", "http", "httpx", "aiohttp", "socket",
                "xmlrpc"}


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _module_file(name):
    for base in (ROOT, CHOREO):
        for candidate in (base.joinpath(*name.split(".")).with_suffix(".py"),
                          base.joinpath(*name.split("."), "__init__.py")):
            if candidate.exists():
                return candidate
    return None


def _reachable_files():
    """Every project file a choreographed service imports, directly or through shared/."""
    pending = sorted(CHOREO.rglob("*.py"))
    seen = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        pending += [f for f in map(_module_file, _imports(path)) if f and f not in seen]
    return seen


def test_no_choreographed_service_imports_an_http_client_even_through_shared_code():
    offenders = {}
    for path in _reachable_files():
        if path.is_relative_to(ROOT / "shared") and path.name in ("web.py", "inspection.py",
                                                                 "orders_api.py"):
            continue  # the HTTP server side (Flask) of every service: serving, not calling
        bad = {m for m in _imports(path) if m.split(".")[0] in HTTP_CLIENTS}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_no_choreographed_service_looks_up_another_services_address():
    for path in CHOREO.rglob("*.py"):
        text = path.read_text()
        assert "service_url" not in text and "_PORT" not in text, path


def test_the_checks_above_see_the_services_code():
    files = {p.relative_to(ROOT).as_posix() for p in _reachable_files()}
    assert "orders-choreo/payments/handlers.py" in files
    assert "shared/messaging/consumer.py" in files and "shared/domain/payments.py" in files


def test_nothing_in_orders_choreo_outside_notifications_mentions_notifications():
    mentions = [str(p.relative_to(ROOT)) for p in CHOREO.rglob("*")
                if p.is_file() and "notifications" not in p.relative_to(CHOREO).parts
                and "__pycache__" not in p.parts and "notif" in p.read_text().lower()]
    assert mentions == []
