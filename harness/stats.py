"""Gate statistics: is a difference between two sets of repeats real, and how large is it?

A comparison takes two :class:`Sample` objects (the baseline's repeats and the current
run's) and returns a :class:`Comparison`:

- **effect**: current statistic / baseline statistic (``1.0`` = no change). The statistic of
  a latency or service-time percentile is that percentile of the *merged* HDR histograms of
  the repeats (percentiles are never averaged); of any other metric it is the median of its
  units.
- **interval**: a 95 % bootstrap interval of the effect. The bootstrap resamples *units*
  (repeats, or measurement rounds where a scenario records several per repeat), never the
  individual samples of one repeat: samples inside one run are not independent (a noisy
  neighbour delays many of them at once), repeats are.
- **p**: one-sided p-value for "the current run is worse than the baseline" (higher for
  ``<``/``<=`` limits, lower for ``>``/``>=``). With at least :data:`MWU_MIN_UNITS` units a
  side it is the Mann-Whitney U test (asv's choice, no assumption on the distribution);
  with fewer it is Welch's t-test on the logarithms of the unit values (pyperf's choice:
  Mann-Whitney cannot reach a small p with three repeats a side, min p = 0.05).

The gate (harness/gate.py) calls a limit breached only when the limit is crossed by the
point statistic *and* ``p < alpha``: a difference must be both outside the noise and larger
than the limit's minimum effect. Everything here is deterministic: the bootstrap uses a fixed
seed, so the same inputs always give the same table.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy_stats

from harness.metrics import decode_histogram

__all__ = [
    "BOOTSTRAP_ROUNDS",
    "MWU_MIN_UNITS",
    "Comparison",
    "HistogramSample",
    "Sample",
    "ScalarSample",
    "compare",
    "histogram_points",
]

MWU_MIN_UNITS = 5
"""Units per side from which the Mann-Whitney U test is used (else Welch's t on logs)."""
BOOTSTRAP_ROUNDS = 2000
"""Resamples for the interval of the effect."""
_SEED = 20_261_129
_NS_PER_MS = 1e6


class Sample:
    """One side of a comparison: ``units`` (one value per independent unit, for the test)
    and a statistic that can be recomputed for resampled units (for the interval)."""

    units: np.ndarray

    def point(self) -> float:
        """The statistic over every unit once."""
        return float(self.weighted(np.ones((1, len(self.units))))[0])

    def weighted(self, weights: np.ndarray) -> np.ndarray:
        """The statistic for each row of ``weights`` (``(B, n)`` unit multiplicities)."""
        raise NotImplementedError


@dataclass(eq=False)
class ScalarSample(Sample):
    """Units that are plain numbers (a throughput per repeat, a capacity ratio per round);
    the statistic is their median (nearest rank, so it is an observed value)."""

    units: np.ndarray

    def __init__(self, values: Sequence[float]) -> None:
        self.units = np.asarray(values, dtype=np.float64)
        if self.units.size == 0:
            raise ValueError("a sample needs at least one unit")
        self._order = np.argsort(self.units, kind="stable")

    def weighted(self, weights: np.ndarray) -> np.ndarray:
        ordered = weights[:, self._order]
        cumulative = np.cumsum(ordered, axis=1)
        rank = np.ceil(cumulative[:, -1] / 2.0)
        index = np.argmax(cumulative >= rank[:, None], axis=1)
        return self.units[self._order][index]


@functools.lru_cache(maxsize=256)
def histogram_points(encoded: str) -> tuple[np.ndarray, np.ndarray]:
    """``(values_ms, counts)`` of an encoded HDR histogram: each recorded bucket's highest
    equivalent value (the value HdrHistogram reports percentiles at) and its count.

    Reads the counts array with numpy and converts only the recorded buckets (hdrh's own
    iterator walks every bucket in Python: seconds per histogram). Cached: a gate asks
    for the same histograms once per percentile threshold.
    """
    hist = decode_histogram(encoded)
    counts = np.ctypeslib.as_array(hist.counts)[: hist.counts_len]
    index = np.flatnonzero(counts)
    values = [hist.get_highest_equivalent_value(hist.get_value_from_index(int(i)))
              for i in index]
    return (np.asarray(values, dtype=np.float64) / _NS_PER_MS,
            counts[index].astype(np.float64))


@dataclass(eq=False)
class HistogramSample(Sample):
    """One HDR histogram per repeat; the statistic is a percentile of their merge.

    ``units`` are the repeats' own percentiles (exact, from the results), used by the test.
    """

    units: np.ndarray

    def __init__(self, histograms: Sequence[str], percentile: float,
                 unit_values: Sequence[float]) -> None:
        if not histograms or len(histograms) != len(unit_values):
            raise ValueError("one histogram per unit is needed")
        self.percentile = float(percentile)
        self.units = np.asarray(unit_values, dtype=np.float64)
        points = [histogram_points(h) for h in histograms]
        grid = np.unique(np.concatenate([v for v, _ in points])) if points else np.empty(0)
        self._grid = grid
        self._counts = np.zeros((len(points), grid.size))
        for row, (values, counts) in enumerate(points):
            self._counts[row, np.searchsorted(grid, values)] = counts

    def weighted(self, weights: np.ndarray) -> np.ndarray:
        merged = weights @ self._counts
        cumulative = np.cumsum(merged, axis=1)
        total = cumulative[:, -1]
        if self._grid.size == 0:
            return np.full(weights.shape[0], np.nan)
        # HdrHistogram's rank: round(q/100 * total), at least 1
        rank = np.maximum(1.0, np.floor(self.percentile / 100.0 * total + 0.5))
        index = np.argmax(cumulative >= rank[:, None], axis=1)
        out = self._grid[index]
        out[total <= 0] = np.nan
        return out


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare` (see the module docstring)."""

    current: float
    baseline: float
    effect: float | None
    low: float | None
    high: float | None
    p: float
    test: str
    n_current: int
    n_baseline: int

    def describe_effect(self) -> str:
        """``x1.23 [1.10, 1.41]`` (or ``—`` when the baseline statistic is 0)."""
        if self.effect is None:
            return "—"
        if self.low is None or self.high is None:
            return f"x{self.effect:.3g}"
        return f"x{self.effect:.3g} [{self.low:.3g}, {self.high:.3g}]"

    def describe_p(self) -> str:
        if math.isnan(self.p):
            return "—"
        return "<0.0001" if self.p < 1e-4 else f"{self.p:.2g}"


def _ratio(current: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return current / baseline


def _p_value(current: np.ndarray, baseline: np.ndarray, worse: str) -> tuple[float, str]:
    alternative = "greater" if worse == "higher" else "less"
    n = min(current.size, baseline.size)
    if n >= MWU_MIN_UNITS:
        result = _scipy_stats.mannwhitneyu(current, baseline, alternative=alternative)
        return float(result.pvalue), f"Mann-Whitney {current.size}v{baseline.size}"
    test = f"Welch t(log) {current.size}v{baseline.size}"
    a, b = current, baseline
    if (a > 0).all() and (b > 0).all():
        a, b = np.log(a), np.log(b)
    else:
        test = f"Welch t {current.size}v{baseline.size}"
    if a.size < 2 or b.size < 2:
        return math.nan, test
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # no noise on either side: any shift is exact
        shifted = a[0] > b[0] if worse == "higher" else a[0] < b[0]
        return (0.0 if shifted else 1.0), test
    with warnings.catch_warnings():  # nearly identical values: scipy warns, p is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        result = _scipy_stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
    return float(result.pvalue), test


def compare(current: Sample, baseline: Sample, *, worse: str) -> Comparison:
    """Compare ``current`` with ``baseline``; ``worse`` is ``"higher"`` or ``"lower"``.

    :raises ValueError: ``worse`` is neither.
    """
    if worse not in ("higher", "lower"):
        raise ValueError(f"worse must be 'higher' or 'lower', got {worse!r}")
    cur_point, base_point = current.point(), baseline.point()
    effect = float(cur_point / base_point) if base_point not in (0.0,) and not math.isnan(
        base_point) else None
    low = high = None
    if effect is not None:
        rng = np.random.default_rng(_SEED)
        cur_w = _multiplicities(rng, current.units.size)
        base_w = _multiplicities(rng, baseline.units.size)
        ratios = _ratio(_statistic(current, cur_w), _statistic(baseline, base_w))
        ratios = ratios[np.isfinite(ratios)]
        if ratios.size:
            low, high = (float(v) for v in np.percentile(ratios, [2.5, 97.5]))
    p, test = _p_value(current.units, baseline.units, worse)
    return Comparison(current=cur_point, baseline=base_point, effect=effect, low=low,
                      high=high, p=p, test=test, n_current=int(current.units.size),
                      n_baseline=int(baseline.units.size))


def _statistic(sample: Sample, weights: np.ndarray) -> np.ndarray:
    """``sample.weighted(weights)``, computed once per distinct resample (with three repeats
    there are only ten)."""
    distinct, inverse = np.unique(weights, axis=0, return_inverse=True)
    return sample.weighted(distinct)[inverse.reshape(-1)]


def _multiplicities(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(BOOTSTRAP_ROUNDS, n)``: how often each unit is drawn in each resample."""
    draws = rng.integers(0, n, size=(BOOTSTRAP_ROUNDS, n))
    weights = np.zeros((BOOTSTRAP_ROUNDS, n))
    np.add.at(weights, (np.arange(BOOTSTRAP_ROUNDS)[:, None], draws), 1.0)
    return weights
