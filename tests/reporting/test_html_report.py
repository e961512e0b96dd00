"""The HTML report: the Markdown report's sections plus charts, in one file that fetches
nothing; old results say which plots they cannot give; the vendored uPlot is the pinned one."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from harness.cli import main
from harness.commands.report import generate
from harness.errors import EXIT_OK, EXIT_USAGE
from harness.html import UPLOT_FILES, UPLOT_VERSION
from harness.jsonio import write_json_atomic
from harness.metrics import encode_histogram

from .conftest import GOLDEN, baseline_v1_doc, timeseries_doc

VENDOR = Path(__file__).resolve().parents[2] / "harness" / "html" / "vendor"


@pytest.fixture
def golden_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "golden"
    shutil.copytree(GOLDEN, directory)
    monkeypatch.chdir(directory)
    return directory


def _charts(page: str) -> list[dict[str, Any]]:
    match = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page,
                      re.DOTALL)
    assert match is not None
    return list(orjson.loads(match.group(1).replace("<\\/", "</")))


def test_html_report_has_every_section_of_the_markdown_report(golden_dir: Path) -> None:
    markdown = generate(Path("results.json"), Path("ledgers"))
    page = generate(Path("results.json"), Path("ledgers"), html=True)
    headings = [line.removeprefix("## ") for line in markdown.splitlines()
                if line.startswith("## ")]
    assert "4. Performance Analysis" in headings and "5. Side-by-side comparison" in headings
    for heading in headings:
        assert f"<h2>{heading}</h2>" in page.replace("&amp;", "&")
    assert page.startswith("<!doctype html>") and page.endswith("</html>\n")


def test_html_report_fetches_nothing(golden_dir: Path) -> None:
    page = generate(Path("results.json"), Path("ledgers"), html=True)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"<link\b|<script\b[^>]*\bsrc=|@import|url\(", page)
    assert f"uPlot {UPLOT_VERSION}" in page


def test_old_results_say_which_plots_they_cannot_draw_and_draw_the_rest(
        golden_dir: Path) -> None:
    doc = orjson.loads(Path("results.json").read_bytes())
    assert doc["schema_version"] == 1
    doc["scenarios"][0]["metrics"]["latency_hdr"] = encode_histogram(np.arange(1, 500) * 1000)
    write_json_atomic(Path("results.json"), doc)
    page = generate(Path("results.json"), Path("ledgers"), html=True)
    assert "Plots this report cannot draw" in page
    assert "results.json is a schema version 1 results document" in page
    assert ("the latency histogram of buffer_overflow, buffer_underrun, high_load, "
            "queue_overflow cannot be decoded") in page  # the golden file's are placeholders
    charts = _charts(page)
    assert [c["id"] for c in charts if c["kind"] != "dots"] == ["p1-baseline-spectrum"]
    assert {c["kind"] for c in charts} == {"spectrum", "dots"}  # no plot over time
    figures = re.findall(r'<figure class="chart" data-chart="([^"]+)"', page)
    assert figures == [c["id"] for c in charts]


def test_time_series_and_a_baseline_are_drawn(golden_dir: Path) -> None:
    write_json_atomic(Path("new.json"), timeseries_doc())
    write_json_atomic(Path("old.json"), baseline_v1_doc())
    page = generate(Path("new.json"), Path("ledgers"), html=True, baseline=Path("old.json"),
                    use_compare=False)
    charts = _charts(page)
    assert [c["id"].rsplit("-", 1)[1] for c in charts] == [
        "spectrum", "latency", "throughput", "depth", "buffer", "memory"]
    assert "Overlaid: this run and the baseline <code>old.json</code>" in page
    assert "the baseline old.json is a schema version 1 results document" in page
    assert "latency · baseline" in [s["label"] for s in charts[0]["series"]]
    digest = hashlib.sha256(Path("old.json").read_bytes()).hexdigest()
    assert digest in page  # listed among the inputs


def test_findings_are_collapsible_with_their_reproduction(golden_dir: Path) -> None:
    page = generate(Path("results.json"), Path("ledgers"), html=True)
    bugs = orjson.loads(Path("ledgers/bugs.json").read_bytes())["entries"]
    for entry in bugs:
        assert f'<span class="fid">{entry["id"]}</span>' in page
    assert page.count('<details class="finding"') >= len(bugs)
    assert '<details class="repro" open><summary>Reproduction</summary>' in page
    repro = page.split('<details class="repro" open>', 1)[1].split("</details>", 1)[0]
    assert "<pre><code" in repro


def test_same_inputs_give_a_byte_identical_html_report(golden_dir: Path) -> None:
    first = generate(Path("results.json"), Path("ledgers"), html=True)
    assert first == generate(Path("results.json"), Path("ledgers"), html=True)


def test_report_html_writes_results_report_html_by_default(
        golden_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("results").mkdir()
    shutil.copy("results.json", "results/latest.json")
    assert main(["report", "--html", "--ledger-dir", "ledgers"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "wrote results/report.html"
    size = Path("results/report.html").stat().st_size
    assert 50_000 < size < 5_000_000
    assert main(["report", "--html", "--ledger-dir", "ledgers", "--check"]) == EXIT_OK


@pytest.mark.parametrize(("args", "message"), [
    (["--baseline", "results.json"], "--baseline overlays a run on the HTML report's charts: "
                                     "add --html"),
    (["--html", "--baseline", "nope.json"], "baseline file nope.json"),
])
def test_bad_baseline_is_one_line_exit_2(golden_dir: Path, capsys: pytest.CaptureFixture[str],
                                          args: list[str], message: str) -> None:
    code = main(["report", "--results", "results.json", "--ledger-dir", "ledgers",
                 "--out", "r.html", *args])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert message in err and len(err.strip().splitlines()) == 1
    assert not Path("r.html").exists()


def test_vendored_uplot_is_the_pinned_release() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    assert f"uPlot {UPLOT_VERSION}" in readme
    for name, digest in UPLOT_FILES.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest
        assert f"| `{name}` |" in readme and digest in readme
    assert (VENDOR / "uPlot.iife.min.js").read_text().startswith(
        f"/*! https://github.com/leeoniya/uPlot (v{UPLOT_VERSION}) */")


def test_gate_writes_the_run_over_its_baseline_and_links_it_from_its_summary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_json_atomic(Path("latest.json"), timeseries_doc())
    write_json_atomic(Path("baseline.json"), baseline_v1_doc())
    code = main(["gate", "--no-defaults", "--results", "latest.json", "--baseline",
                 "baseline.json", "--threshold", "lost == 0", "--html", "gate.html"])
    assert code == EXIT_OK
    assert "Plots of this run over the baseline: [gate.html](gate.html)" in summary.read_text()
    page = Path("gate.html").read_text(encoding="utf-8")
    assert "Overlaid: this run and the baseline <code>baseline.json</code>" in page
    assert "latency · baseline" in [s["label"] for s in _charts(page)[0]["series"]]


def test_a_reproduction_too_long_for_the_markdown_report_is_in_the_html_one_collapsed(
        golden_dir: Path) -> None:
    doc = orjson.loads(Path("ledgers/bugs.json").read_bytes())
    script = "\n".join(["import asyncio", *(f"step_{i} = {i}" for i in range(60)),
                        "assert step_59 == 58, 'expected 58, observed 59'"])
    doc["entries"][0]["reproduction"] = script
    write_json_atomic(Path("ledgers/bugs.json"), doc)
    markdown = generate(Path("results.json"), Path("ledgers"))
    page = generate(Path("results.json"), Path("ledgers"), html=True)
    assert "step_30 = 30" not in markdown  # the Markdown report points to the ledger
    block = page.split('<details class="repro"><summary>Reproduction: a self-contained '
                       "62-line script", 1)[1].split("</details>", 1)[0]
    assert "step_30 = 30" in block and "<pre><code class=\"language-python\">" in block


def test_a_malformed_time_series_is_named_and_the_rest_drawn(golden_dir: Path) -> None:
    doc = timeseries_doc()
    doc["scenarios"][0]["metrics"]["timeseries"]["offered_cps"] = [1.0, "x"]
    write_json_atomic(Path("new.json"), doc)
    page = generate(Path("new.json"), Path("ledgers"), html=True, use_compare=False)
    assert ("new.json: the time series of stream (attempt 0) is malformed (offered_cps does "
            "not hold 40 numbers), so it is not plotted.") in page
    assert [c["kind"] for c in _charts(page)] == ["spectrum"]
