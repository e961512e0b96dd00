"""Time series in the results document: the window grid, each series' values, the bound."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from harness.timeseries import MAX_WINDOWS, build_timeseries, window_ms_for

T0 = 1_000_000_000
MS = 1_000_000


@pytest.mark.parametrize(("span_ms", "width"), [
    (0.0, 1.0), (150.0, 1.0), (201.0, 2.0), (300.0, 2.0), (999.0, 5.0), (1_000.0, 5.0),
    (1_001.0, 10.0), (60_000.0, 500.0), (300_000.0, 2_000.0),
])
def test_window_width_is_a_round_number_that_keeps_the_windows_bounded(
        span_ms: float, width: float) -> None:
    assert window_ms_for(span_ms) == width
    assert span_ms / width <= MAX_WINDOWS


def test_every_series_per_window() -> None:
    intended = T0 + np.array([0, 2, 4, 6]) * MS
    received = intended + np.array([1, 3, 1, 5]) * MS
    ts = build_timeseries(
        intended_ns=intended, delivered_intended_ns=intended, delivered_recv_ns=received,
        delivery_ns=received,
        samples={"queue_depth.q": (T0 + np.arange(10) * MS,
                                   np.array([0, 1, 2, 3, 4, 5, 4, 3, 2, 1], dtype=float))},
        events=[("stream.chunk_dropped", {}, T0 + 3 * MS), ("stream.other", {}, T0)],
        closes_ns=[T0 + 10 * MS], faults=[("stall", T0 + 2 * MS, T0 + 4 * MS)], max_windows=4)
    assert ts == {
        "window_ms": 5.0,  # 11 ms / 4 windows, rounded up to 5
        "span_ms": 11.0,
        "t_ms": [0.0, 5.0, 10.0],
        "latency_ms": {"p50": [1.0, 5.0, None], "p99": [3.0, 5.0, None],
                       "max": [3.0, 5.0, None]},
        "offered_cps": [600.0, 200.0, 0.0],
        "delivered_cps": [200.0, 400.0, 200.0],
        "levels": {"queue_depth.q": {"min": [0.0, 1.0, None], "max": [4.0, 5.0, None]}},
        "rss_bytes": None,
        "loop_lag_ms": None,
        "events": {"drop": [[0.0, 1]], "close": [[10.0, 1]]},
        "faults": [{"label": "stall", "start_ms": 2.0, "end_ms": 4.0}],
    }


def test_a_long_dense_trace_stays_small() -> None:
    rng = np.random.default_rng(7)
    sends = T0 + np.arange(300_000, dtype=np.int64) * MS // 5  # 60 s at 5,000 chunks/s
    received = sends + rng.integers(50_000, 5 * MS, sends.size)
    depth_t = T0 + np.arange(60_000, dtype=np.int64) * MS
    ts = build_timeseries(
        intended_ns=sends, delivered_intended_ns=sends, delivered_recv_ns=received,
        delivery_ns=received,
        samples={"queue_depth.q": (depth_t, rng.integers(0, 100, depth_t.size)),
                 "rss_bytes": (depth_t[::20], np.full(depth_t.size // 20, 5e7)),
                 "loop_lag_ms": (depth_t, rng.random(depth_t.size))},
        events=[("stream.chunk_dropped", {}, int(t)) for t in sends[::100]])
    assert ts is not None
    assert len(ts["t_ms"]) <= MAX_WINDOWS
    assert all(len(v) == len(ts["t_ms"]) for v in ts["latency_ms"].values())
    assert len(ts["events"]["drop"]) <= MAX_WINDOWS
    assert sum(n for _t, n in ts["events"]["drop"]) == 3_000  # every event counted
    assert len(orjson.dumps(ts)) < 40_000


def test_nothing_recorded_gives_no_series() -> None:
    empty = np.empty(0, dtype=np.int64)
    assert build_timeseries(intended_ns=empty, delivered_intended_ns=empty,
                            delivered_recv_ns=empty, delivery_ns=empty, samples={},
                            events=[]) is None


def test_max_windows_must_be_positive() -> None:
    empty = np.empty(0, dtype=np.int64)
    with pytest.raises(ValueError, match="max_windows"):
        build_timeseries(intended_ns=empty, delivered_intended_ns=empty,
                         delivered_recv_ns=empty, delivery_ns=empty, samples={}, events=[],
                         max_windows=0)


def test_a_run_records_its_series_events_and_fault_windows() -> None:
    import scenarios  # noqa: F401  (registers the built-in scenarios)
    from harness.runner import run_scenario
    from harness.targets import load_target
    from scenarios.registry import get_scenario

    entry = run_scenario(get_scenario("buffer_underrun"), load_target("stageflow_core"),
                         quick=True, seed=1)
    ts = entry["metrics"]["timeseries"]
    from harness.plots import timeseries_problem

    assert timeseries_problem(ts) is None  # the shape the report reads
    assert entry["status"] in ("pass", "invalid")  # invalid: a loaded machine was late
    assert list(ts["levels"]) == ["buffer_ms.buffer_16000x1"]
    assert ts["events"]["underrun"]
    (fault,) = ts["faults"]
    assert fault["label"] == "network stall (16000x1)"
    assert fault["end_ms"] - fault["start_ms"] == pytest.approx(250.0, abs=0.01)  # stall_ms
    underrun_t = ts["events"]["underrun"][0][0]
    assert fault["start_ms"] - ts["window_ms"] <= underrun_t <= fault["end_ms"]
    assert sum(ts["delivered_cps"]) * ts["window_ms"] / 1000 == pytest.approx(
        entry["metrics"]["delivered"])  # every accepted write counted once


@pytest.mark.parametrize("version", [1, 2])
def test_results_of_both_schema_versions_are_read(version: int) -> None:
    from harness.results import SCHEMA_VERSION, validate_results

    assert SCHEMA_VERSION == 2
    doc = {"schema_version": version, "run_id": "r", "target": {}, "environment": {},
           "seed": 1, "scenarios": [], "hypotheses": {}}
    assert validate_results(doc) is doc


def test_results_of_an_unknown_schema_version_are_refused_in_one_line() -> None:
    from harness.errors import HarnessError
    from harness.results import validate_results

    with pytest.raises(HarnessError, match=r"^new.json: unknown schema_version 3 \(this "
                                           r"build reads \[1, 2\]\)$"):
        validate_results({"schema_version": 3}, source="new.json")
