"""Percentiles against numpy on known data, HDR histograms and their merge, the recorder."""

from __future__ import annotations

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram

from harness.metrics import (
    HDR_HIGHEST_NS,
    HDR_SIGNIFICANT_DIGITS,
    LatencyRecorder,
    decode_histogram,
    encode_histogram,
    histogram_summary,
    merge_histograms,
    percentile_summary,
    series_summary,
    slope_per_s,
)

# 1..1000 ms in ns: the nearest-rank P50 is 500 ms, P99 990 ms, P99.9 999 ms.
KNOWN_NS = np.arange(1, 1001, dtype=np.int64) * 1_000_000


def _skewed(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.lognormal(mean=11.0, sigma=1.5, size=n)).astype(np.int64) + 1


def test_percentiles_are_nearest_rank_on_known_data() -> None:
    summary = percentile_summary(KNOWN_NS)
    assert (summary["p50"], summary["p95"], summary["p99"], summary["p999"]) == (
        500.0, 950.0, 990.0, 999.0)
    assert summary["max"] == 1000.0
    assert summary["mean"] == pytest.approx(500.5)
    assert summary["count"] == 1000


def test_percentiles_match_numpy_on_shuffled_skewed_data() -> None:
    data = _skewed(3, 20_001)
    summary = percentile_summary(data)
    expected = np.percentile(data, [50, 95, 99, 99.9], method="inverted_cdf") / 1e6  # n odd
    got = [summary["p50"], summary["p95"], summary["p99"], summary["p999"]]
    assert got == pytest.approx(list(expected), rel=1e-9, abs=1e-6)


def test_empty_input_gives_zero_count() -> None:
    assert percentile_summary([])["count"] == 0


def test_vectorised_recording_equals_hdrh_record_value() -> None:
    data = _skewed(5, 5_000)
    reference = HdrHistogram(1, HDR_HIGHEST_NS, HDR_SIGNIFICANT_DIGITS)
    for value in data:
        reference.record_value(int(value))
    ours = decode_histogram(encode_histogram(data))
    assert ours.get_total_count() == reference.get_total_count()
    for q in (50, 90, 99, 99.9, 100):
        assert ours.get_value_at_percentile(q) == reference.get_value_at_percentile(q)


def test_histogram_percentiles_agree_with_exact_within_precision() -> None:
    data = _skewed(7, 50_000)
    exact = percentile_summary(data)
    approx = histogram_summary(encode_histogram(data))
    for key in ("p50", "p95", "p99", "p999", "max"):
        assert approx[key] == pytest.approx(exact[key], rel=2e-3)
    assert approx["count"] == exact["count"]


def test_merged_histograms_equal_the_histogram_of_all_samples() -> None:
    data = _skewed(11, 30_000)
    parts = [encode_histogram(chunk) for chunk in np.array_split(data, 3)]
    assert histogram_summary(merge_histograms(*parts)) == histogram_summary(
        encode_histogram(data))


def test_merge_is_not_an_average_of_percentiles() -> None:
    fast = np.full(990, 1_000_000, dtype=np.int64)   # 990 samples at 1 ms
    slow = np.full(10, 500_000_000, dtype=np.int64)  # 10 samples at 500 ms
    merged = histogram_summary(merge_histograms(encode_histogram(fast), encode_histogram(slow)))
    assert merged["p99"] == pytest.approx(1.0, rel=2e-3)
    assert merged["p999"] == pytest.approx(500.0, rel=2e-3)


def test_decode_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="not an encoded HDR histogram"):
        decode_histogram("not-a-histogram")


def test_latency_recorder_summary_matches_exact_percentiles() -> None:
    recorder = LatencyRecorder()
    for value in KNOWN_NS:
        recorder.record(int(value))
    assert len(recorder) == 1000
    assert recorder.summary() == percentile_summary(KNOWN_NS)
    assert histogram_summary(recorder.histogram())["count"] == 1000


def test_series_summary_keeps_the_peak_when_downsampling() -> None:
    t = np.arange(10_000, dtype=np.int64) * 1_000_000
    values = np.zeros(10_000)
    values[7_777] = 42.0
    summary = series_summary(t, values, max_points=20)
    assert len(summary["points"]) == 20
    assert max(v for _t, v in summary["points"]) == 42.0
    assert summary["max"] == 42.0


def test_slope_is_per_second() -> None:
    t = np.arange(100, dtype=np.int64) * 10_000_000  # 10 ms apart
    assert slope_per_s(t, 5.0 * t / 1e9 + 3.0) == pytest.approx(5.0)
