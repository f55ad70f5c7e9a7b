"""Every measured figure in README.md and docs/ comes from one recorded run (ops/figures.py).

A rendered region must read as `make figures` renders it from its records; a figure written by
hand must cite a record (docs/runs/<name>.json) that holds it, or stand in a passage marked as
an older run with its date and commit. The first tests check the docs; the last ones check
that the checker itself catches each kind of mistake, on small pages of their own.
"""
import json
import shutil

import pytest

from ops import figures
from scripts import trace_cost

ROOT = figures.ROOT
RECORDS = sorted((ROOT / "docs" / "runs").glob("*.json"))


def test_the_check_reads_the_pages_and_finds_regions_and_records():
    names = {str(p.relative_to(ROOT)) for p in figures.pages()}
    assert {"README.md", "docs/results.md", "docs/performance.md"} <= names
    assert sum(len(figures.REGION.findall(p.read_text())) for p in figures.pages()) >= 4
    assert RECORDS


@pytest.mark.parametrize("page", figures.pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_rendered_region_is_as_make_figures_renders_it(page):
    assert figures.render(page) == page.read_text(), (
        f"{page.relative_to(ROOT)}: a rendered region is out of date: run `make figures`")


@pytest.mark.parametrize("page", figures.pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_hand_written_figure_is_in_the_record_it_cites(page):
    found = [p for p in figures.problems(page) if "rendered region" not in p]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_every_record_says_machine_date_commit_settings_and_figures(path):
    record = json.loads(path.read_text())
    assert record["name"] == path.stem
    assert {"cpu", "cores"} <= set(record["machine"]), "the machine: CPU model and cores"
    assert record["date"].endswith("UTC") and len(record["commit"]) >= 7
    assert record["settings"] and record["figures"]


# --- the checker catches each mistake ----------------------------------------------------------

@pytest.fixture
def site(tmp_path):
    """A repository of one page and today's records, to break on purpose."""
    shutil.copytree(ROOT / "docs" / "runs", tmp_path / "docs" / "runs")
    return tmp_path


def _problems(site, text):
    (site / "README.md").write_text(text)
    return figures.problems(site / "README.md", site)


def test_a_figure_that_cites_no_record_is_reported(site):
    found = _problems(site, "Choreography drained 142.4 orders/s.\n")
    assert found and "cite no record" in found[0]


def test_a_figure_its_record_does_not_hold_is_reported(site):
    cited = "(record [r](docs/runs/bench-20261206-032446.json))"
    assert _problems(site, f"Over RabbitMQ 44.8 orders/s at 37.0 CPU-ms {cited}.\n") == []
    found = _problems(site, f"Over RabbitMQ 44.9 orders/s at 37.0 CPU-ms {cited}.\n")
    assert found and "44.9" in found[0]


def test_an_older_figure_stands_only_with_its_date_and_commit(site):
    marked = "*Older run, no record: 2026-11-27, commit 99e8ea5.*"
    assert _problems(site, f"{marked} 88.6 orders/s.\n") == []
    assert _problems(site, "*Older run, no record: long ago.* 88.6 orders/s.\n")


def test_a_stale_region_is_reported_and_make_figures_renders_it(site):
    region = "<!-- figures: run bench-20261206-032446 -->\nhand-edited\n<!-- /figures -->\n"
    found = _problems(site, region)
    assert found and "out of date" in found[0]
    (site / "README.md").write_text(figures.render(site / "README.md", site))
    assert _problems(site, (site / "README.md").read_text()) == []
    assert "commit 8a7f0e7" in (site / "README.md").read_text()


def test_a_trace_cost_record_renders_its_table_with_its_run(site):
    made = {"name": "trace-cost-1", "kind": "trace-cost", "date": "2026-12-06 05:48 UTC",
            "commit": "7b6f535", "commit_how": "HEAD when the run started",
            "machine": {"cpu": "AMD EPYC", "cores": 2}, "settings": {"orders": 500},
            "figures": {"choreo": {"off": {"cpu_ms_per_order": 12.0},
                                   "on": {"cpu_ms_per_order": 15.5}, "cost_ms": 3.5},
                        "orch": {"off": {"cpu_ms_per_order": 45.3},  # a run noisier than
                                 "on": {"cpu_ms_per_order": 38.5}, "cost_ms": -6.8}}}  # the cost
    (site / "docs" / "runs" / "trace-cost-1.json").write_text(json.dumps(made))
    region = "<!-- figures: trace-cost-table trace-cost-1 -->\n<!-- /figures -->\n"
    (site / "README.md").write_text(region)
    rendered = figures.render(site / "README.md", site)
    assert "| choreo | 12.0 CPU-ms per order | 15.5 CPU-ms per order | +3.5 CPU-ms |" in rendered
    assert "| orch | 45.3 CPU-ms per order | 38.5 CPU-ms per order | -6.8 CPU-ms | - |" in rendered
    assert "commit 7b6f535" in rendered and "docs/runs/trace-cost-1.json" in rendered
    assert _problems(site, rendered) == []


def test_a_trace_cost_record_of_several_rounds_renders_each_figure_with_its_spread(site):
    made = {"name": "trace-cost-2", "kind": "trace-cost", "date": "2026-12-06 19:00 UTC",
            "commit": "7b6f535", "commit_how": "HEAD when the run started",
            "machine": {"cpu": "AMD EPYC", "cores": 2}, "settings": {"rounds": 3},
            "figures": trace_cost.figures({"orch": {
                "off": [(40.0, 9.0), (30.0, 8.0), (35.0, 8.5)],
                "on": [(45.0, 9.5), (29.0, 8.0), (41.0, 9.0)], "spans": [52.0, 51.5, 52.0]}})}
    (site / "docs" / "runs" / "trace-cost-2.json").write_text(json.dumps(made))
    region = "<!-- figures: trace-cost-table trace-cost-2 -->\n<!-- /figures -->\n"
    (site / "README.md").write_text(region)
    rendered = figures.render(site / "README.md", site)
    # each round's on minus its off: +5.0, -1.0, +6.0
    assert ("| orch | 35.0 (30.0 to 40.0) CPU-ms per order | 41.0 (29.0 to 45.0) CPU-ms per "
            "order | +5.0 (-1.0 to +6.0) CPU-ms | 52.0 (51.5 to 52.0) |") in rendered
    assert _problems(site, rendered) == []


def test_a_new_record_replaces_an_old_one_in_regions_and_links(site):
    old, new = "bench-20261206-015630", "bench-20261206-032446"
    (site / "README.md").write_text(
        f"<!-- figures: run {old} -->\n<!-- /figures -->\n\n"
        f"Over HTTP 47.8 orders/s (record [r](docs/runs/{old}.json), as in\n"
        f"[{old}](docs/runs/{old}.json)).\n")
    figures.replace(old, new, site)
    text = (site / "README.md").read_text()
    assert old not in text and f"figures: run {new}" in text and f"runs/{new}.json" in text
    assert f"[r](docs/runs/{new}.json)" in text and f"[{new}](docs/runs/{new}.json)" in text
    found = figures.problems(site / "README.md", site)  # the prose's figure is now checked
    assert any("47.8 not in bench-20261206-032446" in p for p in found), found
