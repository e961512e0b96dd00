"""The data behind each chart of the HTML report: golden specs plus the facts they show."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from harness.metrics import encode_histogram
from harness.plots import (
    BASELINE_GROUP,
    Run,
    compare_charts,
    missing_plots,
    scenario_charts,
    spectrum_points,
)

from .conftest import GOLDEN, MS, baseline_v1_doc, timeseries_doc


def _charts() -> list[dict[str, Any]]:
    return scenario_charts("stream", Run("this run", timeseries_doc()),
                           Run("baseline", baseline_v1_doc(), baseline=True))


def test_charts_match_the_golden_specs() -> None:
    compare = orjson.loads((GOLDEN / "compare-latest.json").read_bytes())["compare"]
    charts = {"scenario": _charts(), "compare": compare_charts(compare, "cmp")}
    text = orjson.dumps(charts, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode()
    golden = GOLDEN / "charts.json"
    if os.environ.get("STAGEFLOW_UPDATE_GOLDEN") == "1":  # regenerate after a deliberate change
        golden.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == golden.read_text(encoding="utf-8")


def _series(chart: dict[str, Any], label: str) -> list[Any]:
    return next(s["values"] for s in chart["series"] if s["label"] == label)


def test_spectrum_reads_the_histogram_at_each_percentile_on_a_1_over_1_minus_p_axis() -> None:
    points = spectrum_points(encode_histogram(np.arange(1, 1001) * MS))
    assert points is not None
    # HDR histograms keep 3 significant digits
    assert points[1.0] == pytest.approx(1.0, rel=1e-3)  # 0 %: the minimum
    assert points[2.0] == pytest.approx(500.0, rel=1e-3)  # 50 %
    assert points[10.0] == pytest.approx(900.0, rel=1e-3)  # 90 %
    assert points[100.0] == pytest.approx(990.0, rel=1e-3)  # 99 %
    assert points[1000.0] == pytest.approx(1000.0, rel=1e-3)  # 99.9 % of 1,000 samples
    assert max(points) == 1000.0  # nothing past the resolution of 1,000 samples
    assert list(points.values()) == sorted(points.values())
    assert spectrum_points("") is None
    assert spectrum_points(encode_histogram([])) is None


def test_spectrum_overlays_runs_on_one_x_axis() -> None:
    spectrum = _charts()[0]
    assert spectrum["kind"] == "spectrum"
    assert [(s["label"], s["style"], s["group"]) for s in spectrum["series"]] == [
        ("latency · this run", "line", 0), ("service time · this run", "dash", 0),
        ("latency · baseline", "line", BASELINE_GROUP)]  # the baseline has no service time
    assert [label for _x, label in spectrum["ticks"]] == ["0%", "50%", "90%", "99%", "99.9%"]
    xs = spectrum["xs"]
    baseline = _series(spectrum, "latency · baseline")
    assert baseline[xs.index(2.0)] == pytest.approx(100.0, rel=1e-3)  # P50 of 2..200 ms
    assert baseline[xs.index(1000.0)] is None  # 100 samples: no P99.9 of its own


def test_time_charts_carry_windows_faults_and_events() -> None:
    by_id = {c["id"].rsplit("-", 1)[1]: c for c in _charts()}
    assert list(by_id) == ["spectrum", "latency", "throughput", "depth", "buffer", "memory"]
    latency = by_id["latency"]
    assert latency["xs"][:3] == [0.0, 0.01, 0.02]  # 10 ms windows, in seconds
    p99 = _series(latency, "P99 · this run")
    stalled = [latency["xs"][i] for i, v in enumerate(p99) if v == 40.0]
    assert stalled == [0.1, 0.11, 0.12, 0.13, 0.14]  # the slow chunks, by intended send time
    assert latency["bands"] == [[0, 1]]  # P50 to P99 shaded
    assert latency["faults"] == [{"label": "consumer stalled", "start_ms": 100.0,
                                  "end_ms": 150.0}]
    assert latency["events"] == [["close", 0.39, 1], ["drop", 0.12, 2],  # the end: last window
                                 ["throttle_start", 0.11, 1]]
    throughput = by_id["throughput"]
    assert set(_series(throughput, "offered · this run")[:40]) == {500.0}  # 1 per 2 ms
    depth = by_id["depth"]
    assert [s["label"] for s in depth["series"]] == ["queue max", "queue min"]
    assert max(v for v in _series(depth, "queue max") if v is not None) == 50.0
    assert by_id["buffer"]["y"]["unit"] == "ms"
    memory = _series(by_id["memory"], "RSS · this run")
    assert memory[0] == 50.0 and max(v for v in memory if v is not None) == 52.0  # MiB


def test_a_baseline_with_time_series_is_overlaid_on_the_time_charts() -> None:
    current = Run("this run", timeseries_doc())
    charts = scenario_charts("stream", current, Run("baseline", timeseries_doc(), baseline=True))
    latency = next(c for c in charts if c["id"].endswith("-latency"))
    assert latency["series"][-1]["label"] == "P99 · baseline"
    assert latency["series"][-1]["group"] == BASELINE_GROUP
    assert _series(latency, "P99 · baseline") == _series(latency, "P99 · this run")


def test_missing_plots_says_which_and_why() -> None:
    (line,) = missing_plots(baseline_v1_doc(), "results/baseline.json")
    assert line.startswith("results/baseline.json is a schema version 1 results document")
    assert "latency, throughput, queue depth, buffer level and memory over time" in line
    assert missing_plots(timeseries_doc(), "results/latest.json") == []
    old = _charts()
    assert scenario_charts("stream", Run("old", baseline_v1_doc()))[0]["kind"] == "spectrum"
    assert len(scenario_charts("stream", Run("old", baseline_v1_doc()))) == 1 < len(old)


def test_compare_charts_show_each_target_per_scenario() -> None:
    compare = orjson.loads((GOLDEN / "compare-latest.json").read_bytes())["compare"]
    latency, rate = compare_charts(compare, "cmp")
    scenarios = [row["scenario"] for row in compare["rows"]]
    assert [label for _x, label in latency["ticks"]] == scenarios
    assert [t["name"] for t in compare["targets"]] == ["stageflow_core", "stageflow"]

    def dots(chart: dict[str, Any], label: str) -> dict[float, Any]:
        return {x: v for x, v in zip(chart["xs"], _series(chart, label), strict=True)
                if v is not None}

    p99 = dots(latency, "P99 · stageflow")  # the second target: right of each tick
    expected = {round(i + 0.07, 3): row["stageflow"]["p99_ms"]
                for i, row in enumerate(compare["rows"]) if row["stageflow"]["p99_ms"]}
    assert p99 == expected  # no latency (buffer scenarios): no dot
    assert dots(rate, "stageflow_core")[-0.07] == compare["rows"][0]["stageflow_core"][
        "throughput_cps"]
    assert rate["y"]["log"] is True
    assert compare_charts({"targets": [], "rows": []}, "cmp") == []


def test_the_golden_file_is_committed() -> None:
    assert Path(GOLDEN / "charts.json").is_file()


def test_compare_cells_with_histograms_give_the_targets_spectra_on_one_chart() -> None:
    fast, slow = (encode_histogram(np.arange(1, 201) * MS // k) for k in (4, 1))
    compare = {"targets": [{"name": "ours"}, {"name": "theirs"}], "rows": [
        {"scenario": "stream",
         "ours": {"p50_ms": 25.0, "p99_ms": 50.0, "throughput_cps": 10.0, "latency_hdr": fast},
         "theirs": {"p50_ms": 100.0, "p99_ms": 198.0, "throughput_cps": 10.0,
                    "latency_hdr": slow}}]}
    spectrum = compare_charts(compare, "cmp")[-1]
    assert spectrum["id"] == "cmp-1-spectrum" and spectrum["kind"] == "spectrum"
    assert [(s["label"], s["group"]) for s in spectrum["series"]] == [
        ("latency · ours", 0), ("latency · theirs", 1)]
    at_p99 = spectrum["xs"].index(100.0)
    assert _series(spectrum, "latency · theirs")[at_p99] == pytest.approx(198.0, rel=1e-3)
    assert _series(spectrum, "latency · ours")[at_p99] == pytest.approx(49.5, rel=1e-3)


def test_a_load_curve_is_latency_against_offered_rate_with_its_knee() -> None:
    from harness.plots import load_curve_chart

    doc = timeseries_doc()
    doc["scenarios"][0]["metrics"]["capacity"] = {"knee_cps": 300.0, "curve": [
        {"offered_cps": 100.0, "p50_ms": 1.0, "p99_ms": 2.0},
        {"offered_cps": 200.0, "p50_ms": 2.0, "p99_ms": 5.0},
        {"offered_cps": 300.0, "p50_ms": 9.0, "p99_ms": 80.0}]}
    base = timeseries_doc()
    base["scenarios"][0]["metrics"]["capacity"] = {"knee_cps": None, "curve": [
        {"offered_cps": 150.0, "p50_ms": 1.0, "p99_ms": 3.0}]}
    chart = load_curve_chart("stream", Run("this run", doc), Run("baseline", base,
                                                                 baseline=True), "c")
    assert chart is not None and chart["kind"] == "curve"
    assert chart["xs"] == [100.0, 150.0, 200.0, 300.0]
    assert _series(chart, "P99 · this run") == [2.0, None, 5.0, 80.0]
    assert _series(chart, "P99 · baseline") == [None, 3.0, None, None]
    assert chart["marks"] == [[300.0, "knee"]]
    assert load_curve_chart("stream", Run("old", baseline_v1_doc()), None, "c") is None


def test_with_repeats_captions_say_merged_or_first_attempt() -> None:
    doc = timeseries_doc()
    second = dict(doc["scenarios"][0], repeat_index=1)
    doc["scenarios"].append(second)
    charts = scenario_charts("stream", Run("this run", doc))
    assert charts[0]["caption"].endswith("Merged over the 2 attempts.")
    assert all(c["caption"].endswith("The first of 2 attempts.") for c in charts[1:])


def test_rates_over_time_are_averaged_over_about_100_ms_so_binning_draws_no_sawtooth() -> None:
    doc = timeseries_doc()
    doc["scenarios"][0]["metrics"]["timeseries"] = {
        "window_ms": 50.0, "span_ms": 400.0, "t_ms": [50.0 * i for i in range(8)],
        "latency_ms": {"p50": [None] * 8, "p99": [None] * 8, "max": [None] * 8},
        "offered_cps": [40.0, 60.0] * 4, "delivered_cps": [40.0, 60.0] * 4,
        "levels": {}, "rss_bytes": None, "loop_lag_ms": None, "events": {}, "faults": []}
    chart = next(c for c in scenario_charts("stream", Run("this run", doc))
                 if c["id"].endswith("-throughput"))
    delivered = _series(chart, "delivered · this run")
    assert delivered[1:-1] == [50.0] * 6  # 2 or 3 chunks of 20 ms per 50 ms: 50 chunks/s
    assert "averaged over 2 windows of 50 ms" in chart["caption"]
