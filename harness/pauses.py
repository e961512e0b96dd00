"""Garbage-collector pauses: measured while a scenario runs, so none is blamed on a target.

A collection stops every task of the event loop for as long as it runs (tens of ms for a
full collection of a big heap). A put that took 79 ms because the collector ran in the
middle of it says nothing about the queue. :class:`PauseRecorder` therefore

- collects and freezes the heap before the scenario starts (``gc.collect()`` then
  ``gc.freeze()``): what the harness allocated before the scenario is never scanned again
  during it, so collections during the scenario are short and rare;
- records every collection while the scenario runs, from ``gc.callbacks`` (start and stop
  of each, on ``time.perf_counter_ns``);
- unfreezes on exit.

The checks then subtract the pauses from what they judge (:func:`overlap_ns`): a put slow
only because of a pause, a send late only because of a pause, a latency long only because
of a pause. What a pause excused is said in the result (``gc`` in the scenario entry).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np

__all__ = ["Pause", "PauseRecorder", "overlap_ns", "pauses_report"]

_SHOWN = 20  # pauses listed one by one in a result; the rest are counted


@dataclass(frozen=True)
class Pause:
    """One collection: when it ran (perf_counter_ns) and which generation it collected."""

    start_ns: int
    end_ns: int
    generation: int

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass
class PauseRecorder:
    """Context manager: collect and freeze on entry, record collections, unfreeze on exit.

    Re-entrant use (a recorder inside another) is not supported: ``gc.freeze`` is global.
    """

    pauses: list[Pause] = field(default_factory=list)
    _started: dict[int, int] = field(default_factory=dict, repr=False)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter_ns()
        generation = int(info.get("generation", -1))
        if phase == "start":
            self._started[generation] = now
        else:
            start = self._started.pop(generation, now)
            self.pauses.append(Pause(start, now, generation))

    def __enter__(self) -> PauseRecorder:
        gc.collect()
        gc.freeze()
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
        gc.unfreeze()

    def intervals(self) -> np.ndarray:
        """``(n, 2)`` int64 array of ``(start_ns, end_ns)``, sorted by start."""
        return as_intervals(self.pauses)


def as_intervals(pauses: Sequence[Pause] | np.ndarray) -> np.ndarray:
    """Pauses as a sorted ``(n, 2)`` int64 array of ``(start_ns, end_ns)``."""
    if isinstance(pauses, np.ndarray):
        arr = pauses.reshape(-1, 2).astype(np.int64)
    else:
        arr = np.asarray([(p.start_ns, p.end_ns) for p in pauses],
                         dtype=np.int64).reshape(-1, 2)
    return arr[np.argsort(arr[:, 0], kind="stable")] if arr.size else arr


def overlap_ns(intervals: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per window ``[starts[i], ends[i]]``: how many ns of it the pauses cover.

    ``intervals`` as from :func:`as_intervals` (pauses never overlap each other: collections
    run one at a time). Windows with ``end < start`` cover nothing.
    """
    starts = np.asarray(starts, dtype=np.int64).reshape(-1)
    ends = np.asarray(ends, dtype=np.int64).reshape(-1)
    out = np.zeros(starts.size, dtype=np.int64)
    if intervals.size == 0 or starts.size == 0:
        return out
    for p_start, p_end in intervals:
        covered = np.minimum(ends, p_end) - np.maximum(starts, p_start)
        out += np.maximum(covered, 0)
    return out


def pauses_report(pauses: Sequence[Pause], origin_ns: int) -> dict[str, Any]:
    """The ``gc`` object of a scenario entry (without ``excused``, which the checks add):
    how many collections ran, their total and longest pause, and the longest ones."""
    longest = sorted(pauses, key=lambda p: p.duration_ns, reverse=True)[:_SHOWN]
    return {
        "collections": len(pauses),
        "total_ms": round(sum(p.duration_ns for p in pauses) / 1e6, 3),
        "max_ms": round(max((p.duration_ns for p in pauses), default=0) / 1e6, 3),
        "pauses": [{"at_ms": round((p.start_ns - origin_ns) / 1e6, 3),
                    "ms": round(p.duration_ns / 1e6, 3), "generation": p.generation}
                   for p in sorted(longest, key=lambda p: p.start_ns)],
    }
