"""Fault windows for the adversarial suite: how the metrics changed and how long recovery took.

Given a trace and a scheduled :class:`~mocks.faults.FaultWindow`, :func:`window_report`
splits the chunks by their *intended* send time into before / during / after the window
and reports, for each part, the chunks sent and delivered, the throughput and the latency
percentiles (intended send to receipt, coordinated omission corrected). Recovery is the
time from the window's end until latency is back to normal for good: the intended time of
the first chunk after which every delivered chunk's latency stays within
``max(2 x before-p99, before-p99 + 5 ms)``, minus the window's end. ``None`` when it never
recovered (or nothing was delivered after the window). The window is also marked in the
trace (:meth:`~mocks.trace.Trace.fault`), so the report shades it on its plots over time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mocks.faults import FaultWindow
from mocks.trace import Trace

__all__ = ["window_report"]


def _part(deliveries: np.ndarray, sends: np.ndarray, lo: int, hi: int) -> dict[str, Any]:
    sent = int(np.count_nonzero((sends["intended_ns"] >= lo) & (sends["intended_ns"] < hi)))
    mask = (deliveries["intended_ns"] >= lo) & (deliveries["intended_ns"] < hi)
    rows = deliveries[mask]
    latency_ms = (rows["recv_ns"] - rows["intended_ns"]) / 1e6
    span_s = max((hi - lo) / 1e9, 1e-9)
    out: dict[str, Any] = {
        "sent": sent,
        "delivered": int(rows.shape[0]),
        "throughput_cps": round(rows.shape[0] / span_s, 1),
        "latency_p50_ms": None,
        "latency_p99_ms": None,
        "latency_max_ms": None,
    }
    if rows.shape[0]:
        out["latency_p50_ms"] = round(float(np.percentile(latency_ms, 50)), 3)
        out["latency_p99_ms"] = round(float(np.percentile(latency_ms, 99)), 3)
        out["latency_max_ms"] = round(float(latency_ms.max()), 3)
    return out


def window_report(trace: Trace, window: FaultWindow, *, start_ns: int, fault: str,
                  end_ns: int | None = None) -> dict[str, Any]:
    """Metrics before, during and after one fault window, and the recovery time."""
    deliveries = trace.deliveries()
    deliveries = deliveries[deliveries["intended_ns"] >= 0]
    sends = trace.sends
    w_start = start_ns + round(window.start_ms * 1e6)
    w_end = w_start + round(min(window.duration_ms, 1e12) * 1e6)
    last = int(sends["intended_ns"].max()) + 1 if sends.shape[0] else w_end
    end = max(end_ns or last, w_end)
    trace.fault(fault, w_start, min(w_end, end))
    before = _part(deliveries, sends, start_ns, w_start)
    during = _part(deliveries, sends, w_start, w_end)
    after = _part(deliveries, sends, w_end, end)
    recovery_ms: float | None = None
    base = before["latency_p99_ms"]
    tail = deliveries[deliveries["intended_ns"] >= w_end]
    if base is not None and tail.shape[0]:
        tail = tail[np.argsort(tail["intended_ns"], kind="stable")]
        latency_ms = (tail["recv_ns"] - tail["intended_ns"]) / 1e6
        limit = max(2 * base, base + 5.0)
        bad = np.nonzero(latency_ms > limit)[0]
        if bad.shape[0] == 0:
            recovery_ms = 0.0
        elif bad[-1] + 1 < tail.shape[0]:
            recovery_ms = round((int(tail["intended_ns"][bad[-1] + 1]) - w_end) / 1e6, 3)
    return {
        "fault": fault,
        "start_ms": window.start_ms,
        "duration_ms": window.duration_ms if np.isfinite(window.duration_ms) else None,
        "probability": window.probability,
        "before": before,
        "during": during,
        "after": after,
        "recovery_ms": recovery_ms,
    }
