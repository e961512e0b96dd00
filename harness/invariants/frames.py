"""The frame check: audio leaves a buffer in whole frames only (``whole_frames``).
"""

from __future__ import annotations

import numpy as np

from harness.defects import DefectKey
from harness.invariants.attribution import _SERIES_KEYS
from harness.invariants.detail import _SHOWN, _n
from harness.invariants.expectations import Expectations
from harness.invariants.observations import Observations
from harness.invariants.verdict import Verdict

__all__ = ["check_whole_frames"]


def check_whole_frames(obs: Observations, expect: Expectations) -> Verdict | None:
    """Every recorded length in the declared series is a whole number of frames."""
    if not expect.frames:
        return None
    broken: list[str] = []
    defects: list[DefectKey] = []
    unnamed: list[str] = []
    total = 0
    for series, frame_bytes in expect.frames.items():
        _t, lengths = obs.series(series)
        total += int(lengths.size)
        bad = np.nonzero(np.mod(lengths.astype(np.int64), frame_bytes) != 0)[0]
        if bad.size:
            shown = ", ".join(f"#{i}={int(lengths[i])} B" for i in bad[:_SHOWN])
            more = f" and {bad.size - _SHOWN} more" if bad.size > _SHOWN else ""
            broken.append(f"{bad.size} of {lengths.size} {series} not a multiple of "
                          f"{frame_bytes} B: {shown}{more}")
            key = _SERIES_KEYS.get(series.split(".")[0])
            if key is None:
                unnamed.append(broken[-1])
            else:
                defects.append(key)
    if broken:
        return Verdict("whole_frames", False, "; ".join(broken),
                       defects=tuple(dict.fromkeys(defects)),
                       unattributed="; ".join(unnamed) or None)
    return Verdict("whole_frames", True, f"{_n(total, 'length')}, "
                   + ("a whole number of frames" if total == 1 else "all whole frames"))
