"""The ``metrics`` object of a scenario entry, computed from one attempt's observations:
counts, latency and service time, throughput, memory, SLOs, the generator's schedule lag
(saturation) and the time series the HTML report plots."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from harness import metrics as m
from harness.invariants import (
    Expectations,
    Observations,
    account_for,
    delivered_times_ns,
    latencies_ns,
    schedule_lag_ns,
)
from harness.pauses import overlap_ns
from harness.timeseries import build_timeseries
from scenarios.context import SLO_KEYS

if TYPE_CHECKING:
    from harness.runner.context import RunContext

__all__ = [
    "DEFAULT_SATURATION_FRACTION",
    "DEFAULT_SATURATION_LAG_MS",
    "compute_metrics",
]

DEFAULT_SATURATION_LAG_MS = 20.0
DEFAULT_SATURATION_FRACTION = 0.01


def _empty_metrics() -> dict[str, Any]:
    empty = m.percentile_summary([])
    return {
        "sent": 0, "delivered": 0, "dropped": 0, "lost": 0, "duplicated": 0, "refused": 0,
        "stranded": 0, "throughput_cps": 0.0, "offered_cps": 0.0,
        "latency_ms": dict(empty), "service_ms": dict(empty),
        "latency_hdr": m.encode_histogram([]), "service_hdr": m.encode_histogram([]),
        "memory": {"peak_bytes": 0, "growth_bytes_per_s": 0.0, "growth_bytes": 0},
        "slo": {"underruns": 0, "underrun_ms": 0.0, "drop_ratio": 0.0, "recovery_ms": None,
                "loop_lag_ms_max": 0.0, "loop_lag_ms_p99": 0.0},
        "generator": {"schedule_lag_ms_max": 0.0, "schedule_lag_ms_p99": 0.0,
                      "late_fraction": 0.0, "lag_limit_ms": DEFAULT_SATURATION_LAG_MS,
                      "saturated": False},
        "series": {}, "events": {}, "notes": {}, "timeseries": None,
    }


def compute_metrics(obs: Observations, ctx: RunContext, expect: Expectations,
                    duration_ms: float) -> dict[str, Any]:
    """The ``metrics`` object of a scenario entry (see harness.metrics for definitions)."""
    out = _empty_metrics()
    acc = account_for(obs, expect)
    if expect.chunk_identity:
        out.update(sent=acc.sent, delivered=acc.delivered, dropped=acc.dropped, lost=acc.lost,
                   duplicated=acc.duplicated, refused=acc.refused, stranded=acc.stranded)
    else:  # writes into a buffer: an accepted write is delivered; bytes are checked apart
        accepted = int((obs.send_outcome == "queued").sum())
        out.update(sent=acc.sent, delivered=accepted, refused=acc.sent - accepted)
    latency = latencies_ns(obs)
    service = obs.send_end - obs.send_start
    out["latency_ms"] = m.percentile_summary(latency)
    out["service_ms"] = m.percentile_summary(service)
    out["latency_hdr"] = m.encode_histogram(latency)
    out["service_hdr"] = m.encode_histogram(service)
    delivered_t = obs.recv_t[~obs.recv_stranded]
    if not expect.chunk_identity:
        delivered_t = obs.send_end[obs.send_outcome == "queued"]
    if out["delivered"] and delivered_t.size and obs.send_intended.size:
        window = (int(delivered_t.max()) - int(obs.send_intended.min())) / 1e9
        out["throughput_cps"] = round(out["delivered"] / window, 1) if window > 0 else 0.0
    if obs.send_intended.size > 1:
        span = (int(obs.send_intended.max()) - int(obs.send_intended.min())) / 1e9
        out["offered_cps"] = round(obs.send_intended.size / span, 1) if span > 0 else 0.0

    origin = int(obs.send_intended.min()) if obs.send_intended.size else None
    series: dict[str, Any] = {}
    for name in sorted(obs.samples):
        t, values = obs.series(name)
        if name in expect.frames:  # per-read lengths: counted by whole_frames, not plotted
            continue
        series[name] = m.series_summary(t, values, origin_ns=origin)
    out["series"] = series

    t_rss, rss = obs.series("rss_bytes")
    if rss.size:
        out["memory"] = {"peak_bytes": int(rss.max()),
                         "growth_bytes": int(rss.max() - rss[0]),
                         "growth_bytes_per_s": round(m.slope_per_s(t_rss, rss), 1)}
    _t, lag = obs.series("loop_lag_ms")
    events: dict[str, int] = {}
    for name, _payload, _t_ev in obs.events:
        events[name] = events.get(name, 0) + 1
    out["events"] = events
    slo = out["slo"]
    slo["underruns"] = events.get("stream.buffer_underrun", 0)
    slo["drop_ratio"] = round(acc.dropped / acc.sent, 6) if acc.sent else 0.0
    if lag.size:
        slo["loop_lag_ms_max"] = round(float(lag.max()), 3)
        slo["loop_lag_ms_p99"] = round(float(m.nearest_rank(lag, [99.0])[0]), 3)
    for key in SLO_KEYS:
        if key in ctx.slo_values:
            slo[key] = ctx.slo_values[key]

    lag_limit_ms = float(ctx.params.get("saturation_lag_ms", DEFAULT_SATURATION_LAG_MS))
    fraction_limit = float(ctx.params.get("saturation_fraction", DEFAULT_SATURATION_FRACTION))
    sched = schedule_lag_ns(obs)
    gen = out["generator"]
    gen["lag_limit_ms"] = lag_limit_ms
    if sched.size:
        late = sched > lag_limit_ms * 1e6
        # a send late only because the collector stopped the loop is the harness's pause
        paused = overlap_ns(expect.pauses, obs.send_start - sched, obs.send_start)
        by_gc = late & (sched - paused <= lag_limit_ms * 1e6)
        late_fraction = float((late & ~by_gc).mean())
        gen.update(
            schedule_lag_ms_max=round(float(sched.max()) / 1e6, 3),
            schedule_lag_ms_p99=round(float(m.nearest_rank(sched, [99.0])[0]) / 1e6, 3),
            late_fraction=round(late_fraction, 6),
            saturated=late_fraction > fraction_limit,
        )
        if by_gc.any():
            gen["late_by_gc"] = int(by_gc.sum())
    out["notes"] = dict(ctx.notes)
    out["timeseries"] = _timeseries(obs, ctx, expect, delivered_t)
    out.update(ctx.measurements)
    return out


def _timeseries(obs: Observations, ctx: RunContext, expect: Expectations,
                delivered_t: np.ndarray) -> dict[str, Any] | None:
    """``metrics.timeseries``: the bounded per-window series the HTML report plots."""
    intended, received = delivered_times_ns(obs)
    samples = {name: obs.series(name) for name in obs.samples if name not in expect.frames}
    return build_timeseries(
        intended_ns=obs.send_intended, delivered_intended_ns=intended,
        delivered_recv_ns=received, delivery_ns=delivered_t, samples=samples,
        events=obs.events, closes_ns=expect.closed.values(), faults=ctx.trace.faults)
