"""The layout keeps its promise (issue 29): shared/ holds what both styles use, each style's
machinery lives in its tree, and a reader can name shared/'s parts at a glance.

Counted from the imports by ops/sizes.py, the module behind `make sizes`, so the limits and
the sizes the docs give come from one count."""
from ops import sizes


def test_the_shared_code_that_one_style_alone_reaches_stays_small():
    counts = sizes.census()
    alone = counts["shared, choreo only"] | counts["shared, orch only"]
    assert sizes.Size.of(alone).lines <= sizes.MAX_ONE_VARIANT_LINES, sorted(map(sizes.rel, alone))


def test_every_shared_module_is_reached_by_a_style():
    assert sorted(map(sizes.rel, sizes.census()["shared, neither"])) == []


def test_shared_has_a_few_named_parts():
    assert len(sizes.shared_entries()) <= sizes.MAX_SHARED_ENTRIES, sizes.shared_entries()


def test_make_sizes_reports_no_broken_limit_and_names_both_styles():
    assert sizes.broken_limits() == []
    printed = sizes.report(sizes.census())
    assert "choreography, in all" in printed and "orchestration, in all" in printed


def test_the_count_follows_imports_made_inside_functions_and_through_packages(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from shared.messaging import outbox\n")
    assert {"shared.messaging", "shared.messaging.outbox"} <= sizes.imported_names(module)
    files = sizes.resolve("shared.messaging.outbox", (sizes.ROOT,))
    assert [sizes.rel(path) for path in files] == [
        "shared/__init__.py", "shared/messaging/__init__.py", "shared/messaging/outbox.py"]
