"""The sweep in the HTML report: a section with the best cell, a table of pooled cells
and charts over the swept parameters, drawn by the browser like every other chart."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import sweep_toys  # noqa: F401  (registers sweep_burst)

import scenarios  # noqa: F401  (registers the built-in scenarios)
from harness.commands.report import generate
from harness.executors import SerialExecutor
from harness.html.browser import find_chromium, render
from harness.jsonio import write_json_atomic
from harness.plots import sweep_charts
from harness.sweep.document import build_sweep_document, parse_objective, parse_slo
from harness.sweep.spec import SweepSpec, parse_axis, plan_cells
from scenarios.registry import get_scenario

GOLDEN = Path(__file__).parents[1] / "reporting" / "golden"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def sweep_doc() -> dict[str, object]:
    spec = SweepSpec(scenarios=["sweep_burst"], seeds=[1, 2], quick=True,
                     modules=["sweep_toys"],
                     axes=[parse_axis("max_size=5,20,40"), parse_axis("count=40,80")])
    cells = plan_cells(spec, [get_scenario("sweep_burst")])
    entries = SerialExecutor().run(cells)
    slo = parse_slo(["dropped < 100"])
    return build_sweep_document(spec=spec, cells=cells, entries=entries, command="test",
                                executor={"kind": "serial", "workers": 1}, wall_s=1.0,
                                reference_cps=1e6, slo=slo,
                                objective=parse_objective(None, slo),
                                targets=[{"name": "stageflow_core", "version": "0"}])


def test_sweep_charts_follow_the_first_swept_parameter(sweep_doc: dict) -> None:
    charts = sweep_charts(sweep_doc["sweep"], "sw")
    assert [c["id"] for c in charts] == ["sw0-p99", "sw0-dropped"]
    dropped = charts[1]
    assert dropped["x"]["label"] == "max_size"
    assert [t[1] for t in dropped["ticks"]] == ["5", "20", "40"]
    lines = {s["label"]: s["values"] for s in dropped["series"]}
    # summed over the two seeds: (count - max_size) * 2
    assert lines == {"count=40": [70.0, 40.0, 0.0], "count=80": [150.0, 120.0, 80.0]}


def test_the_html_report_has_a_sweep_section_with_the_best_cell(
        sweep_doc: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(GOLDEN, tmp_path / "golden")
    monkeypatch.chdir(tmp_path / "golden")
    markdown = generate(Path("results.json"), Path("ledgers"))
    write_json_atomic(Path("sweep-latest.json"), sweep_doc)
    page = generate(Path("results.json"), Path("ledgers"), html=True)
    assert '<section id="sweep"><h2>Sweep</h2>' in page
    assert 'data-chart="sw0-p99"' in page and 'data-chart="sw0-dropped"' in page
    assert "best under dropped &lt; 100 (min dropped): sweep_burst" in page
    assert "<strong>best</strong>" in page
    assert page == generate(Path("results.json"), Path("ledgers"), html=True)  # pure
    assert generate(Path("results.json"), Path("ledgers")) == markdown  # HTML only

    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's `chromium`")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    Path("report.html").write_text(page, encoding="utf-8")
    result = render(Path("report.html"), binary=binary)
    assert result.errors == []
    sweep = [c for c in result.charts if c["id"].startswith("sw0-")]
    assert len(sweep) == 2 and result.undrawn == []
