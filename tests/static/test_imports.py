"""Imports run one way: the tools may import the lesson code, never the other way round, and the
audit depends on no tool that makes load or faults (it must judge them, not share their code).
The tools that judge or drive a running variant (audit, load, chaos, the page, the scripts,
ops/) import none of a variant's tree either: they read it through its HTTP API or ops/.

Read from the source with `ast`, so a lazy import inside a function counts as much as one at the
top of a module."""
import ast

import pytest

from tests.support import ROOT

TOOLS = {"audit", "load", "chaos", "watch", "scripts", "runner", "ops"}
# The top-level packages and modules of the two variants' trees (orders, payments, ...,
# orchestrator, commands, service_worker).
VARIANT_CODE = {path.stem if path.suffix else path.name
                for tree in ("orders-choreo", "orders-orch") for path in (ROOT / tree).iterdir()
                if path.suffix == ".py" or (path / "__init__.py").is_file()}
# folder -> the top-level packages its modules must not import
FORBIDDEN = {"audit": {"load", "chaos", "watch", "scripts"} | VARIANT_CODE,
             "load": VARIANT_CODE, "chaos": VARIANT_CODE, "watch": VARIANT_CODE,
             "scripts": VARIANT_CODE, "ops": VARIANT_CODE,
             "shared": TOOLS, "orders-choreo": TOOLS, "orders-orch": TOOLS}


def imported_packages(path):
    """Return the top-level package names that one Python file imports (absolute imports)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def wrong_imports(folder, forbidden):
    """Return ["file: package", ...] for every forbidden import under `folder`."""
    return [f"{path.relative_to(ROOT)}: {name}"
            for path in sorted((ROOT / folder).rglob("*.py"))
            for name in sorted(imported_packages(path) & forbidden)]


@pytest.mark.parametrize("folder", FORBIDDEN)
def test_no_module_imports_against_the_direction_of_the_house(folder):
    assert (ROOT / folder).is_dir()
    assert wrong_imports(folder, FORBIDDEN[folder]) == []


def test_the_variants_code_is_known_by_its_package_names():
    assert {"orders", "payments", "orchestrator", "commands", "service_worker"} <= VARIANT_CODE


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from load.queues import QueueWatch\n    import chaos.run\n")
    assert imported_packages(module) == {"load", "chaos"}
