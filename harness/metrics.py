"""Metrics: latency and service-time percentiles, mergeable HDR histograms, series, SLOs.

Definitions (the contract the results, the report and the gate rely on):

- **Latency** of a chunk = receipt time - *intended* send time (the open-loop schedule),
  so a stall that delays the producer is charged to every chunk it delayed (coordinated
  omission corrected, as wrk2 does). Only delivered chunks have a latency.
- **Service time** of a send = end - start of the actual ``put`` call, for every attempt
  whatever its outcome (a put that timed out after 25 ms took 25 ms).
- **Percentiles** are exact, computed with numpy over every sample using the
  nearest-rank definition (:func:`nearest_rank`): P99 is the smallest recorded value that
  at least 99 % of samples do not exceed. It is always an observed value and is the
  definition HDR histograms use, so exact and histogram figures agree to the histogram's
  precision.
- **Histograms** are HdrHistogram (``hdrh``), values in nanoseconds from 1 ns to one hour,
  3 significant digits, stored as the standard base64 "HISTF..." string. Percentiles
  cannot be averaged: repeats and workers are combined with :func:`merge_histograms`.
- **Throughput** = delivered chunks / (last receipt - first intended send).
- **Series** (queue depth, buffer level, RSS, event-loop lag) are kept small in results:
  summary statistics plus at most ``max_points`` points, each the maximum of its time bin
  (peaks survive downsampling).
- **Memory trend** is the least-squares slope of RSS over time, in bytes per second.
"""

from __future__ import annotations

import array
import asyncio
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

__all__ = [
    "HDR_HIGHEST_NS",
    "HDR_SIGNIFICANT_DIGITS",
    "PERCENTILES",
    "LatencyRecorder",
    "decode_histogram",
    "encode_histogram",
    "histogram_summary",
    "merge_histograms",
    "nearest_rank",
    "percentile_summary",
    "reference_queue_throughput",
    "series_summary",
    "slope_per_s",
]

PERCENTILES: dict[str, float] = {"p50": 50.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}
HDR_LOWEST_NS = 1
HDR_HIGHEST_NS = 3_600_000_000_000  # one hour
HDR_SIGNIFICANT_DIGITS = 3
_NS_PER_MS = 1e6


def _as_int64(values: Iterable[int] | np.ndarray) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.astype(np.int64, copy=False)
    if isinstance(values, array.array):
        return np.frombuffer(values, dtype=np.int64) if values.typecode == "q" else np.asarray(
            values, dtype=np.int64)
    return np.fromiter(values, dtype=np.int64)


def nearest_rank(values: Iterable[float] | np.ndarray, percentiles: Sequence[float]) -> np.ndarray:
    """Nearest-rank percentiles: for ``q``, the ``ceil(q / 100 * n)``-th smallest value.

    Same as ``numpy.percentile(..., method="inverted_cdf")`` except that the rank is
    computed with a tolerance, so that P99.9 of 1,000 samples is the 999th (numpy's
    floating point gives the 1,000th), as HDR histograms compute it.

    :raises ValueError: empty ``values``.
    """
    data = np.asarray(values).reshape(-1)
    n = data.size
    if n == 0:
        raise ValueError("nearest_rank of an empty sample")
    ranks = np.array([min(n, max(1, math.ceil(q / 100.0 * n - 1e-9))) for q in percentiles])
    picked = np.partition(data, np.unique(ranks - 1))
    return picked[ranks - 1]


def percentile_summary(values_ns: Iterable[int] | np.ndarray) -> dict[str, float | int]:
    """Exact P50/P95/P99/P99.9, max and mean in milliseconds, plus ``count``.

    Nearest-rank percentiles (:func:`nearest_rank`). An empty input gives zeros and
    ``count: 0``.
    """
    data = _as_int64(values_ns)
    if data.size == 0:
        return {**dict.fromkeys(PERCENTILES, 0.0), "max": 0.0, "mean": 0.0, "count": 0}
    qs = nearest_rank(data, list(PERCENTILES.values()))
    out: dict[str, float | int] = {
        key: round(float(q) / _NS_PER_MS, 6) for key, q in zip(PERCENTILES, qs, strict=True)
    }
    out["max"] = round(float(data.max()) / _NS_PER_MS, 6)
    out["mean"] = round(float(data.mean()) / _NS_PER_MS, 6)
    out["count"] = int(data.size)
    return out


# --- HDR histograms -----------------------------------------------------------------------

def _new_histogram() -> HdrHistogram:
    return HdrHistogram(HDR_LOWEST_NS, HDR_HIGHEST_NS, HDR_SIGNIFICANT_DIGITS)


def _record_many(hist: HdrHistogram, values: np.ndarray) -> None:
    """Vectorised ``hist.record_value`` for every value (clamped to the trackable range).

    Same bucket arithmetic as ``HdrHistogram._counts_index_for``, done with numpy: the
    pure-Python ``record_value`` costs ~2 µs per value, this ~20 ns.
    """
    v = np.clip(values.astype(np.int64, copy=False), 0, hist.highest_trackable_value)
    if v.size == 0:
        return
    # bit_length(v | mask): exact through float64 because values stay far below 2**53
    bit_length = np.frexp((v | hist.sub_bucket_mask).astype(np.float64))[1].astype(np.int64)
    bucket = bit_length - hist.unit_magnitude - (hist.sub_bucket_half_count_magnitude + 1)
    sub_bucket = v >> (bucket + hist.unit_magnitude)
    index = ((bucket + 1) << hist.sub_bucket_half_count_magnitude) + (
        sub_bucket - hist.sub_bucket_half_count)
    counts = np.bincount(index, minlength=0).astype(np.uint64)
    live = np.ctypeslib.as_array(hist.counts)
    live[: counts.size] += counts
    hist.total_count += int(v.size)
    hist.min_value = min(hist.min_value, int(v.min()))
    hist.max_value = max(hist.max_value, int(v.max()))


def encode_histogram(values_ns: Iterable[int] | np.ndarray) -> str:
    """An HDR histogram of ``values_ns`` (ns), base64-encoded ("HISTF..." V2 format)."""
    hist = _new_histogram()
    _record_many(hist, _as_int64(values_ns))
    return _encode(hist)


def _encode(hist: HdrHistogram) -> str:
    encoded = hist.encode()
    return encoded.decode("ascii") if isinstance(encoded, bytes) else str(encoded)


def decode_histogram(encoded: str) -> HdrHistogram:
    """Decode a histogram made by :func:`encode_histogram`.

    :raises ValueError: not a valid encoded histogram.
    """
    try:
        return HdrHistogram.decode(encoded.encode("ascii") if isinstance(encoded, str) else encoded)
    except Exception as exc:
        raise ValueError(f"not an encoded HDR histogram: {type(exc).__name__}: {exc}") from None


def merge_histograms(*encoded: str) -> str:
    """Combine encoded histograms (repeats, workers, phases) into one encoded histogram.

    This is the only correct way to combine percentiles: merge the counts, then read
    percentiles from the merge (:func:`histogram_summary`).

    :raises ValueError: an input is not an encoded histogram.
    """
    merged = _new_histogram()
    for item in encoded:
        if item:
            merged.add(decode_histogram(item))
    return _encode(merged)


def histogram_summary(encoded: str) -> dict[str, float | int]:
    """P50/P95/P99/P99.9/max/mean (ms) and count read from an encoded histogram.

    Values carry the histogram's precision (3 significant digits).
    """
    hist = decode_histogram(encoded)
    count = int(hist.get_total_count())
    if count == 0:
        return {**dict.fromkeys(PERCENTILES, 0.0), "max": 0.0, "mean": 0.0, "count": 0}
    out: dict[str, float | int] = {
        key: round(hist.get_value_at_percentile(q) / _NS_PER_MS, 6)
        for key, q in PERCENTILES.items()
    }
    out["max"] = round(hist.get_max_value() / _NS_PER_MS, 6)
    out["mean"] = round(hist.get_mean_value() / _NS_PER_MS, 6)
    out["count"] = count
    return out


class LatencyRecorder:
    """Append-only recorder of latencies in ns; ``record()`` costs well under 1 µs.

    Samples go into a typed int64 ``array.array`` (no object per sample). Read the results
    with :meth:`summary` (exact percentiles) or :meth:`histogram` (encoded HDR, mergeable).
    """

    __slots__ = ("_append", "_values")

    def __init__(self) -> None:
        self._values = array.array("q")
        self._append = self._values.append

    def record(self, value_ns: int) -> None:
        """Add one sample (an int, in ns)."""
        self._append(value_ns)

    def __len__(self) -> int:
        return len(self._values)

    def values(self) -> np.ndarray:
        """The samples as an int64 array (a copy)."""
        return np.array(self._values, dtype=np.int64)

    def summary(self) -> dict[str, float | int]:
        """See :func:`percentile_summary`."""
        return percentile_summary(np.frombuffer(self._values, dtype=np.int64)
                                  if len(self._values) else np.empty(0, np.int64))

    def histogram(self) -> str:
        """See :func:`encode_histogram`."""
        return encode_histogram(self.values())


# --- series and trends --------------------------------------------------------------------

def slope_per_s(t_ns: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray) -> float:
    """Least-squares slope of ``values`` over time, per second (0.0 with < 3 points)."""
    t = np.asarray(t_ns, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if t.size < 3 or float(t.max() - t.min()) <= 0.0:
        return 0.0
    seconds = (t - t[0]) / 1e9
    slope, _intercept = np.polyfit(seconds, y, 1)
    return float(slope)


def series_summary(
    t_ns: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray, *,
    origin_ns: int | None = None, max_points: int = 60,
) -> dict[str, Any]:
    """Summary of a sampled series and a downsampled copy that keeps its peaks.

    Returns ``count``, ``min``, ``max``, ``mean``, ``p99``, ``last`` and ``points``: at most
    ``max_points`` ``[t_ms, value]`` pairs (time from ``origin_ns``), each the maximum of
    its time bin.
    """
    t = np.asarray(t_ns, dtype=np.int64)
    y = np.asarray(values, dtype=np.float64)
    if y.size == 0:
        return {"count": 0, "min": 0.0, "max": 0.0, "mean": 0.0, "p99": 0.0, "last": 0.0,
                "points": []}
    origin = int(t[0]) if origin_ns is None else int(origin_ns)
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    if y.size <= max_points:
        points = [[round((int(a) - origin) / _NS_PER_MS, 3), round(float(b), 6)]
                  for a, b in zip(t, y, strict=True)]
    else:
        bins = np.array_split(np.arange(y.size), max_points)
        points = []
        for idx in bins:
            peak = idx[int(np.argmax(y[idx]))]
            points.append([round((int(t[peak]) - origin) / _NS_PER_MS, 3),
                           round(float(y[peak]), 6)])
    return {
        "count": int(y.size),
        "min": round(float(y.min()), 6),
        "max": round(float(y.max()), 6),
        "mean": round(float(y.mean()), 6),
        "p99": round(float(nearest_rank(y, [99.0])[0]), 6),
        "last": round(float(y[-1]), 6),
        "points": points,
    }


# --- reference ----------------------------------------------------------------------------

async def _ping_pong(items: int) -> int:
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=64)

    async def consume() -> None:
        for _ in range(items):
            await queue.get()

    consumer = asyncio.ensure_future(consume())
    start = time.perf_counter_ns()
    for i in range(items):
        await queue.put(i)
    await consumer
    return time.perf_counter_ns() - start


def reference_queue_throughput(items: int = 20_000, rounds: int = 3) -> float:
    """Items per second through a bounded ``asyncio.Queue`` (producer/consumer ping-pong).

    Measured in this process on a fresh event loop; the best of ``rounds`` (the least
    disturbed). The gate divides throughputs by it to compare runs across machines.
    """
    if items < 1 or rounds < 1:
        raise ValueError(f"items and rounds must be >= 1, got items={items}, rounds={rounds}")
    best_ns: int | None = None
    with asyncio.Runner() as runner:
        for _ in range(rounds):
            elapsed = runner.run(_ping_pong(items))
            best_ns = elapsed if best_ns is None else min(best_ns, elapsed)
    assert best_ns is not None
    return round(items / (max(best_ns, 1) / 1e9), 1)
