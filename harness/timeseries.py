"""Time series of one scenario attempt, bounded in size, for the plots of the HTML report.

A scenario's trace holds every send, receipt, event and ~1 ms sample: hundreds of
thousands of values. The results document keeps a fixed grid of at most
:data:`MAX_WINDOWS` windows of equal width instead, whatever the scenario's length, so a
plot draws from a few thousand numbers (``docs/report.md``, "Time series").

Contract of :func:`build_timeseries` (the ``metrics.timeseries`` object, schema 2):

- ``t0``: time zero is the earliest timestamp the trace holds (first sample, intended
  send, receipt or event). ``window_ms`` is the width of a window: the span divided by
  :data:`MAX_WINDOWS`, rounded up to 1, 2 or 5 x 10^k ms (at least :data:`MIN_WINDOW_MS`).
  ``t_ms[i] = i * window_ms`` is the start of window ``i``; ``span_ms`` the whole span.
- ``latency_ms``: ``p50``, ``p99`` and ``max`` per window of the chunks whose *intended*
  send time falls in it (latency = first receipt - intended send, as
  :func:`harness.invariants.latencies_ns`); nearest-rank percentiles; ``None`` for a
  window where no delivered chunk was due.
- ``offered_cps``: chunks scheduled per second in each window (intended send times);
  ``delivered_cps``: chunks received per second (receipt times; for a scenario that writes
  into a buffer, writes accepted per second by the time the write ended).
- ``levels``: per sampled queue depth (``queue_depth.<name>``) and buffer level
  (``buffer_ms.<name>``) series, the ``min`` and ``max`` sample of each window (peaks
  survive); ``None`` where a window has no sample.
- ``rss_bytes`` and ``loop_lag_ms``: the maximum sample of each window (``None``: none).
- ``events``: per kind (:data:`EVENT_KINDS`), ``[[t_ms, count], ...]`` for the windows
  where it happened: drops, underruns, overflows, throttle start and end, put timeouts,
  closes (the target's ``stream.queue_closed`` or the scenario's ``ctx.closed``).
- ``faults``: the fault windows the scenario marked (``Trace.fault``), each
  ``{"label", "start_ms", "end_ms"}`` from ``t0``.

Numbers are rounded (3 decimals for ms, 1 for rates) so the document stays small.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["EVENT_KINDS", "MAX_WINDOWS", "MIN_WINDOW_MS", "build_timeseries", "window_ms_for"]

MAX_WINDOWS = 200
MIN_WINDOW_MS = 1.0
EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "drop": ("stream.chunk_dropped",),
    "underrun": ("stream.buffer_underrun",),
    "overflow": ("stream.buffer_overflow",),
    "throttle_start": ("stream.throttle_started",),
    "throttle_end": ("stream.throttle_ended",),
    "timeout": ("stream.producer_timeout",),
    "close": ("stream.queue_closed",),
}
"""Marked kinds of event -> the telemetry event names that count as one."""
_LEVEL_PREFIXES = ("queue_depth.", "buffer_ms.")


def window_ms_for(span_ms: float, max_windows: int = MAX_WINDOWS) -> float:
    """The width of a window: ``span_ms / max_windows`` rounded up to 1, 2 or 5 x 10^k ms,
    at least :data:`MIN_WINDOW_MS`."""
    raw = max(span_ms / max_windows, MIN_WINDOW_MS)
    exponent = math.floor(math.log10(raw))
    for step in (1.0, 2.0, 5.0, 10.0):
        width = step * 10.0 ** exponent
        if width >= raw * (1 - 1e-12):
            return float(round(width, 9))
    return float(10.0 ** (exponent + 1))  # pragma: no cover - the loop always returns


def _window_index(t_ns: np.ndarray, t0: int, width_ns: float, count: int) -> np.ndarray:
    index = ((np.asarray(t_ns, dtype=np.int64) - t0) / width_ns).astype(np.int64)
    return np.clip(index, 0, count - 1)


def _rounded(values: np.ndarray, present: np.ndarray, digits: int) -> list[float | None]:
    return [round(float(v), digits) if ok else None
            for v, ok in zip(values, present, strict=True)]


def _per_window_max(index: np.ndarray, values: np.ndarray, count: int,
                    digits: int) -> list[float | None]:
    out = np.full(count, -np.inf)
    np.maximum.at(out, index, values)
    return _rounded(out, np.isfinite(out), digits)


def _per_window_min(index: np.ndarray, values: np.ndarray, count: int,
                    digits: int) -> list[float | None]:
    out = np.full(count, np.inf)
    np.minimum.at(out, index, values)
    return _rounded(out, np.isfinite(out), digits)


def _latency_windows(index: np.ndarray, latency_ms: np.ndarray,
                     count: int) -> dict[str, list[float | None]]:
    p50: list[float | None] = [None] * count
    p99: list[float | None] = [None] * count
    peak: list[float | None] = [None] * count
    if latency_ms.size:
        order = np.argsort(index, kind="stable")
        index, latency_ms = index[order], latency_ms[order]
        bounds = np.searchsorted(index, np.arange(count + 1))
        for window in range(count):
            part = latency_ms[bounds[window]:bounds[window + 1]]
            if part.size == 0:
                continue
            part = np.sort(part)
            n = part.size
            p50[window] = round(float(part[max(1, math.ceil(0.50 * n - 1e-9)) - 1]), 3)
            p99[window] = round(float(part[max(1, math.ceil(0.99 * n - 1e-9)) - 1]), 3)
            peak[window] = round(float(part[-1]), 3)
    return {"p50": p50, "p99": p99, "max": peak}


def _rate(index: np.ndarray, count: int, width_s: float) -> list[float]:
    counts = np.bincount(index, minlength=count)[:count]
    return [round(float(c) / width_s, 1) for c in counts]


def _event_marks(times_ns: Sequence[int], t0: int, width_ns: float, window_ms: float,
                 count: int) -> list[list[float]]:
    if not times_ns:
        return []
    counts = np.bincount(_window_index(np.asarray(times_ns), t0, width_ns, count),
                         minlength=count)
    return [[round(i * window_ms, 3), int(c)] for i, c in enumerate(counts) if c]


def build_timeseries(
    *,
    intended_ns: np.ndarray,
    delivered_intended_ns: np.ndarray,
    delivered_recv_ns: np.ndarray,
    delivery_ns: np.ndarray,
    samples: Mapping[str, tuple[np.ndarray, np.ndarray]],
    events: Iterable[tuple[str, Any, int]],
    closes_ns: Iterable[int] = (),
    faults: Iterable[tuple[str, int, int]] = (),
    max_windows: int = MAX_WINDOWS,
) -> dict[str, Any] | None:
    """The bounded time series of one attempt (see the module docstring), or None when the
    trace holds no timestamp at all.

    ``intended_ns``: every send's intended time; ``delivered_intended_ns`` and
    ``delivered_recv_ns``: intended send and first receipt of each delivered chunk (the
    latency pairs); ``delivery_ns``: the time of each delivery (receipts, or accepted
    buffer writes); ``samples``: series name -> ``(t_ns, values)``; ``events``: telemetry
    ``(name, payload, t_ns)``; ``closes_ns``: when the scenario closed a queue;
    ``faults``: ``(label, start_ns, end_ns)``.
    """
    if max_windows < 1:
        raise ValueError(f"max_windows must be >= 1, got {max_windows}")
    events = list(events)
    closes = [int(t) for t in closes_ns]
    faults = [(str(label), int(a), int(b)) for label, a, b in faults]
    stamps = [np.asarray(a, dtype=np.int64) for a in (intended_ns, delivery_ns,
                                                      delivered_recv_ns)]
    stamps += [np.asarray(t, dtype=np.int64) for t, _v in samples.values()]
    stamps.append(np.asarray([t for _n, _p, t in events] + closes, dtype=np.int64))
    present = [a for a in stamps if a.size]
    if not present:
        return None
    t0 = int(min(int(a.min()) for a in present))
    end = int(max(int(a.max()) for a in present))
    span_ms = (end - t0) / 1e6
    window_ms = window_ms_for(span_ms, max_windows)
    width_ns = window_ms * 1e6
    count = min(max_windows, max(1, math.floor(span_ms / window_ms) + 1))
    width_s = window_ms / 1000.0

    latency_ms = (np.asarray(delivered_recv_ns, dtype=np.int64)
                  - np.asarray(delivered_intended_ns, dtype=np.int64)) / 1e6
    latency_index = _window_index(delivered_intended_ns, t0, width_ns, count)
    out: dict[str, Any] = {
        "window_ms": window_ms,
        "span_ms": round(span_ms, 3),
        "t_ms": [round(i * window_ms, 3) for i in range(count)],
        "latency_ms": _latency_windows(latency_index, latency_ms, count),
        "offered_cps": _rate(_window_index(intended_ns, t0, width_ns, count), count, width_s),
        "delivered_cps": _rate(_window_index(delivery_ns, t0, width_ns, count), count,
                               width_s),
        "levels": {},
        "rss_bytes": None,
        "loop_lag_ms": None,
    }
    for name in sorted(samples):
        t, values = samples[name]
        t = np.asarray(t, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64)
        if t.size == 0:
            continue
        index = _window_index(t, t0, width_ns, count)
        if name.startswith(_LEVEL_PREFIXES):
            out["levels"][name] = {"min": _per_window_min(index, values, count, 3),
                                   "max": _per_window_max(index, values, count, 3)}
        elif name == "rss_bytes":
            out["rss_bytes"] = _per_window_max(index, values, count, 0)
        elif name == "loop_lag_ms":
            out["loop_lag_ms"] = _per_window_max(index, values, count, 3)
    by_kind: dict[str, list[int]] = {kind: [] for kind in EVENT_KINDS}
    kind_of = {name: kind for kind, names in EVENT_KINDS.items() for name in names}
    for name, _payload, t in events:
        kind = kind_of.get(name)
        if kind is not None:
            by_kind[kind].append(int(t))
    by_kind["close"].extend(closes)
    out["events"] = {kind: _event_marks(times, t0, width_ns, window_ms, count)
                     for kind, times in by_kind.items() if times}
    out["faults"] = [{"label": label, "start_ms": round((a - t0) / 1e6, 3),
                      "end_ms": round((b - t0) / 1e6, 3)} for label, a, b in faults]
    return out
