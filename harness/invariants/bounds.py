"""The bound checks: queue depth never above ``max_size`` and buffer level never above its
maximum duration (``bounds_held``), resident memory within its growth limit
(``memory_bounded``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from harness.defects import DefectKey
from harness.invariants.attribution import _BUFFER_BOUNDS, _QUEUE_BOUNDS, _QUEUE_LEVEL
from harness.invariants.detail import _of
from harness.invariants.expectations import Expectations
from harness.invariants.observations import Observations
from harness.invariants.verdict import Verdict

__all__ = ["check_bounds_held", "check_memory_bounded"]


def _queue_peaks(obs: Observations, name: str, expect: Expectations) -> dict[str, float]:
    peaks: dict[str, float] = {}
    _t, values = obs.series(f"queue_depth.{name}")
    if values.size:
        peaks["sampled"] = float(values.max())
    if name in expect.queue_peaks:
        peaks["reported"] = float(expect.queue_peaks[name])
    if len(expect.queues) == 1:  # events do not name their queue: only usable for one queue
        sizes = [payload.get("queue_size") for _e, payload, _t in obs.events
                 if isinstance(payload, Mapping)]
        sizes = [s for s in sizes if isinstance(s, (int, float, np.integer, np.floating))]
        if sizes:
            peaks["events"] = float(max(sizes))
    return peaks


def check_bounds_held(obs: Observations, expect: Expectations) -> Verdict | None:
    """Queue depth never above ``max_size``; buffer level never above its max duration."""
    bounded_queues = {n: m for n, m in expect.queues.items() if m is not None}
    bounded_buffers = {n: m for n, m in expect.buffers.items() if m is not None}
    if not bounded_queues and not bounded_buffers:
        return None
    breaches: list[str] = []
    held: list[str] = []
    defects: list[DefectKey] = []
    for name, max_size in bounded_queues.items():
        peaks = _queue_peaks(obs, name, expect)
        peak = max(peaks.values(), default=0.0)
        how = ", ".join(f"{k} {v:g}" for k, v in peaks.items()) or "no samples"
        if peak > max_size and peaks.get("sampled", 0) > max_size \
                and "reported" in peaks and peaks["reported"] <= max_size \
                and peaks.get("events", 0) <= max_size:
            # its own peak says it held no more than max_size: len() is what is wrong
            breaches.append(f"{name} len() {peaks['sampled']:g} > max_size {max_size} while "
                            f"the queue's own peak is {peaks['reported']:g}")
            defects.append(_QUEUE_LEVEL)
        elif peak > max_size:
            breaches.append(f"{name} depth {peak:g} > max_size {max_size} ({how})")
            defects.append(_QUEUE_BOUNDS)
        else:
            held.append(f"{name} peak {peak:g}/{max_size}")
    for name, max_ms in bounded_buffers.items():
        _t, levels = obs.series(f"buffer_ms.{name}")
        peak = float(levels.max()) if levels.size else 0.0
        if peak > max_ms * (1 + 1e-9) + 1e-9:
            over = int((levels > max_ms * (1 + 1e-9) + 1e-9).sum())
            breaches.append(f"{name} level {peak:.3f} ms > max {max_ms:g} ms "
                            f"in {_of(over, levels.size, 'sample')}")
            defects.append(_BUFFER_BOUNDS)
        else:
            held.append(f"{name} peak {peak:.1f}/{max_ms:g} ms")
    if breaches:
        return Verdict("bounds_held", False, "; ".join(breaches),
                       defects=tuple(dict.fromkeys(defects)))
    return Verdict("bounds_held", True, "; ".join(held))


def check_memory_bounded(obs: Observations, expect: Expectations) -> Verdict | None:
    """Resident memory grows by at most the declared limit over the scenario."""
    if expect.memory_growth_limit is None:
        return None
    _t, rss = obs.series("rss_bytes")
    if rss.size < 2:
        return Verdict("memory_bounded", True, "fewer than two memory samples")
    growth = int(rss.max() - rss[0])
    limit = expect.memory_growth_limit
    detail = f"RSS grew {growth / 2**20:.1f} MiB (limit {limit / 2**20:.1f} MiB)"
    return Verdict("memory_bounded", growth <= limit, detail)
