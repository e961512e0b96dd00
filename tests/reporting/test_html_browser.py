"""The HTML report as a person sees it: rendered in headless Chromium, every chart drawn,
no console error, a screenshot kept in the test's temporary directory.

Needs Debian's ``chromium`` (``.ci/run`` installs it). Without it the test is skipped on a
developer's machine and fails in CI (``CI`` set), so CI never passes without rendering.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import scenarios  # noqa: F401  (registers the built-in scenarios)
from harness.commands.report import generate
from harness.html.browser import find_chromium, render
from harness.jsonio import write_json_atomic
from harness.results import validate_results
from harness.runner import Runner, build_run_document
from harness.targets import load_target
from scenarios.registry import get_scenario

from .conftest import GOLDEN, baseline_v1_doc

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's `chromium`")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return binary


@pytest.fixture(scope="module")
def run_doc() -> dict[str, object]:
    """A real run: two quick scenarios of the default suite with series, events, drops,
    timeouts, a closed queue and a fault window."""
    target = load_target("stageflow_core")
    entries = Runner(target=target, target_spec="stageflow_core", quick=True, seed=3).run(
        [get_scenario("queue_overflow"), get_scenario("buffer_underrun")])
    doc = build_run_document(command="test", target=target, seed=3, suite=None, quick=True,
                             repeat=1, reference_cps=1e6, entries=entries)
    return validate_results(doc)


def test_report_renders_with_every_chart_drawn_and_no_console_error(
        chromium: str, run_doc: dict[str, object], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(GOLDEN / "ledgers", tmp_path / "ledgers")
    shutil.copy(GOLDEN / "compare-latest.json", tmp_path / "compare-latest.json")
    monkeypatch.chdir(tmp_path)
    write_json_atomic(Path("latest.json"), run_doc)
    write_json_atomic(Path("baseline.json"), baseline_v1_doc())
    page = Path("report.html")
    page.write_text(generate(Path("latest.json"), Path("ledgers"), html=True,
                             baseline=Path("baseline.json")), encoding="utf-8")

    shot = tmp_path / "report.png"
    result = render(page, screenshot=shot, binary=chromium)

    assert result.errors == []
    ids = [c["id"] for c in result.charts]
    kinds = {i.rsplit("-", 1)[1] for i in ids}
    assert {"spectrum", "latency", "throughput", "depth", "buffer", "memory", "rate"} <= kinds
    assert result.undrawn == []  # each canvas holds coloured pixels, not only its axes
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_a_broken_chart_is_reported_not_hidden(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        '<!doctype html><html><body><figure class="chart" data-chart="x"></figure>'
        "<script>console.error('chart x: boom')</script></body></html>", encoding="utf-8")
    result = render(page, binary=chromium)
    assert result.errors == ["console.error: chart x: boom"]
    assert result.undrawn == ["x"]


def test_a_one_window_series_is_drawn_as_a_dot(chromium: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.timeseries import build_timeseries

    from .conftest import timeseries_doc

    monkeypatch.chdir(tmp_path)
    shutil.copytree(GOLDEN / "ledgers", tmp_path / "ledgers")
    doc = timeseries_doc()
    start = 7_000_000_000
    doc["scenarios"][0]["metrics"]["timeseries"] = build_timeseries(
        intended_ns=np.array([start]), delivered_intended_ns=np.array([start]),
        delivered_recv_ns=np.array([start + 300_000]), delivery_ns=np.array([start + 300_000]),
        samples={"queue_depth.queue": (np.array([start]), np.array([1.0])),
                 "rss_bytes": (np.array([start]), np.array([5e7]))}, events=[])
    write_json_atomic(Path("one.json"), doc)
    page = Path("one.html")
    page.write_text(generate(Path("one.json"), Path("ledgers"), html=True, use_compare=False),
                    encoding="utf-8")
    result = render(page, binary=chromium)
    assert result.errors == []
    assert len(result.charts) == 5 and result.undrawn == []
