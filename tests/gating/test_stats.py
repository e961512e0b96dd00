"""Gate statistics: effect, interval and p of two sets of repeats (harness/stats.py)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.metrics import encode_histogram, histogram_summary, merge_histograms
from harness.stats import HistogramSample, ScalarSample, compare


def _repeats(seed: int, scale: float, n: int = 3, size: int = 2_000) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.lognormal(mean=11.0, sigma=0.5, size=size) * scale).astype(np.int64)
            for _ in range(n)]


def _histograms(repeats: list[np.ndarray], q: float) -> HistogramSample:
    units = [float(np.percentile(r, q)) / 1e6 for r in repeats]
    return HistogramSample([encode_histogram(r) for r in repeats], q, units)


def test_percentile_of_the_merged_histograms_is_what_metrics_reports() -> None:
    repeats = _repeats(1, 1.0)
    sample = _histograms(repeats, 99.0)
    merged = histogram_summary(merge_histograms(*(encode_histogram(r) for r in repeats)))
    assert sample.point() == pytest.approx(merged["p99"], rel=1e-6)


def test_same_distribution_gives_no_effect_and_a_large_p() -> None:
    result = compare(ScalarSample([1.0, 1.1, 0.9, 1.05, 0.95]),
                     ScalarSample([1.0, 1.1, 0.9, 1.05, 0.95]), worse="lower")
    assert result.effect == 1.0
    assert result.low is not None and result.high is not None
    assert result.low <= 1.0 <= result.high
    assert result.p > 0.4
    assert result.test == "Mann-Whitney 5v5"


def test_many_units_use_mann_whitney_and_see_a_real_drop() -> None:
    rng = np.random.default_rng(3)
    baseline = ScalarSample(rng.normal(1.0, 0.05, 27))
    current = ScalarSample(rng.normal(0.8, 0.05, 27))
    result = compare(current, baseline, worse="lower")
    assert result.test == "Mann-Whitney 27v27"
    assert result.p < 1e-6
    assert result.effect is not None and 0.7 < result.effect < 0.9
    assert result.high is not None and result.high < 0.9


def test_few_units_use_welch_t_on_logs() -> None:
    current = _histograms(_repeats(4, 2.0), 99.0)
    baseline = _histograms(_repeats(5, 1.0), 99.0)
    result = compare(current, baseline, worse="higher")
    assert result.test == "Welch t(log) 3v3"
    assert result.p < 0.01
    assert result.effect == pytest.approx(2.0, rel=0.15)


def test_p_is_one_sided_in_the_direction_that_is_worse() -> None:
    faster = ScalarSample([0.5, 0.52, 0.48])
    slower = ScalarSample([1.0, 1.02, 0.98])
    assert compare(faster, slower, worse="higher").p > 0.9
    assert compare(faster, slower, worse="lower").p < 0.01


def test_identical_units_without_spread_give_an_exact_answer() -> None:
    assert compare(ScalarSample([2.0] * 3), ScalarSample([1.0] * 3), worse="higher").p == 0.0
    assert compare(ScalarSample([1.0] * 3), ScalarSample([1.0] * 3), worse="higher").p == 1.0


def test_interval_is_deterministic() -> None:
    current = _histograms(_repeats(6, 1.3), 99.0)
    baseline = _histograms(_repeats(7, 1.0), 99.0)
    first = compare(current, baseline, worse="higher")
    assert compare(current, baseline, worse="higher") == first


def test_zero_baseline_has_no_effect_ratio() -> None:
    result = compare(ScalarSample([1.0, 2.0, 3.0]), ScalarSample([0.0, 0.0, 0.0]),
                     worse="higher")
    assert result.effect is None and result.describe_effect() == "—"


def test_bad_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="worse must be"):
        compare(ScalarSample([1.0]), ScalarSample([1.0]), worse="up")
