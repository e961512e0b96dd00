"""Which defect a check saw: the contract clauses (:class:`~harness.defects.DefectKey`) the
checks name, the level each is judged at for the target (:func:`clause_level`), and how
lost chunks and hung tasks are traced to a clause (a queue that closed while a put waited,
the call a task still waits in).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from harness.contract import Level, Semantics
from harness.defects import DefectKey, level_of
from harness.invariants.accounting import Accounting
from harness.invariants.detail import _n
from harness.invariants.expectations import Expectations, HungTask
from harness.invariants.observations import Observations

__all__ = ["clause_level"]

_QUEUE_FIFO = DefectKey("ChunkQueue", "get", "fifo")
_QUEUE_BOUNDS = DefectKey("ChunkQueue", "put (full queue)", "bounds")
_QUEUE_LEVEL = DefectKey("ChunkQueue", "__len__", "level")
_BUFFER_BOUNDS = DefectKey("StreamingBuffer", "add_chunk (overflow)", "bounds")
_READ_FRAMES = DefectKey("StreamingBuffer", "read", "whole_frames")
_TRIM_FRAMES = DefectKey("StreamingBuffer", "add_chunk (overflow trim)", "whole_frames")
_PUT_HANG = DefectKey("ChunkQueue", "put (full queue)", "no_hang")
_CLOSE_PRODUCER_HANG = DefectKey("ChunkQueue", "close (blocked producer)", "no_hang")
_CLOSE_CONSUMER_HANG = DefectKey("ChunkQueue", "close (blocked consumer)", "no_hang")
_LOST_WAKEUP = DefectKey("ChunkQueue", "put (blocked consumer)", "no_hang")
_CLOSE_PRODUCER_LOSS = DefectKey("ChunkQueue", "close (blocked producer)", "no_loss")
_CLOSED_PUT_LOSS = DefectKey("ChunkQueue", "put (closed queue)", "no_loss")
_BLOCKED_UNSEEN = DefectKey("ChunkQueue", "put (full queue)", "backpressure_visible")
_FULL_DROP_SILENT = DefectKey("ChunkQueue", "put (full queue)", "no_silent_drop")
_CLOSED_DROP_SILENT = DefectKey("ChunkQueue", "put (closed queue)", "no_silent_drop")
_SERIES_KEYS = {"read_bytes": _READ_FRAMES, "dropped_bytes": _TRIM_FRAMES}
"""Trace series (before the first dot) whose lengths are a buffer's reads / overflow trims."""


def clause_level(semantics: Semantics, clause: str | None, value: Any = True) -> Level:
    """DECLARED when the target declares ``clause`` with ``value``, else RECOMMENDED (our
    recommendation; a target that declares otherwise is not in breach of its contract)."""
    if clause is None:
        return Level.RECOMMENDED
    decl = semantics.get(clause)
    return Level.DECLARED if decl is not None and decl.value == value else Level.RECOMMENDED


def _levels(keys: Iterable[DefectKey], expect: Expectations,
            check_level: Level) -> tuple[tuple[DefectKey, str], ...]:
    """``Verdict.levels`` for ``keys``: each key whose level differs from the check's."""
    out = []
    for key in keys:
        level = level_of(key, expect.semantics)
        if level != check_level:
            out.append((key, level))
    return tuple(out)


def _after_close(expect: Expectations, start_ns: np.ndarray) -> np.ndarray:
    """Per put start: 1 when it started on a closed queue (every watched queue had been
    closed), 0 when no queue had been closed yet, -1 when it cannot be told (sends do not
    say which of several queues they went to)."""
    out = np.full(start_ns.size, -1, dtype=np.int8)
    if not expect.closed:
        out[:] = 0
        return out
    times = np.asarray(list(expect.closed.values()), dtype=np.int64)
    out[start_ns < times.min()] = 0
    if set(expect.closed) >= set(expect.queues):
        out[start_ns >= times.max()] = 1
    return out


def _closed_while_waiting(expect: Expectations, start_ns: np.ndarray,
                          end_ns: np.ndarray) -> np.ndarray:
    """Per put: a watched queue began to close while it was waiting."""
    hit = np.zeros(start_ns.size, dtype=bool)
    for t in expect.closed.values():
        hit |= (start_ns < t) & (t <= end_ns)
    return hit


def _explain_lost(obs: Observations, expect: Expectations,
                  acc: Accounting) -> tuple[tuple[DefectKey, ...], str | None]:
    """The defects behind lost chunks, where the close of a queue explains them: an item
    whose put was waiting when its queue closed, or that a closed queue accepted, and that
    nobody read. ``((), None)`` when nothing (or not all, unambiguously) can be explained."""
    candidates = acc.lost_candidates
    if not expect.closed or candidates.size == 0:
        return (), None
    keys = obs.send_keys
    order = np.argsort(keys, kind="stable")
    pos = np.clip(np.searchsorted(keys[order], candidates, side="right") - 1, 0,
                  max(keys.size - 1, 0))
    index = order[pos]  # each candidate's last send
    queued = obs.send_outcome[index] == "queued"
    straddled = queued & _closed_while_waiting(expect, obs.send_start[index],
                                               obs.send_end[index])
    after = queued & ~straddled & (_after_close(expect, obs.send_start[index]) == 1)
    other = int(candidates.size - straddled.sum() - after.sum())
    unexplained = other if acc.exact else other - acc.dropped  # drops hide among the rest
    if unexplained < 0:
        return (), None
    found = tuple(key for key, hits in ((_CLOSE_PRODUCER_LOSS, straddled),
                                        (_CLOSED_PUT_LOSS, after)) if hits.any())
    if not found:
        return (), None
    rest = (f"{_n(unexplained, 'lost chunk')} not explained by a close" if unexplained
            else None)
    return found, rest


def _hang_key(task: HungTask, expect: Expectations) -> DefectKey | None:
    """The defect a task still blocked at the deadline shows, when it waits in a watched
    queue: a producer in put() is woken by nothing on an open queue (no timeout) or was not
    woken by close(); a consumer in get() on a queue that holds items was not woken by the
    put that brought them (a lost wake-up), one on a closed queue not by close() (on an
    open, empty queue it waits for a producer: the scenario's business, not the target's)."""
    if task.queue is None or not task.call:
        return None
    closed = task.queue in expect.closed
    if task.call.startswith("put"):
        return _CLOSE_PRODUCER_HANG if closed else _PUT_HANG
    if task.call.startswith("get") or task.call in ("__anext__", "anext"):
        if expect.queue_held.get(task.queue, 0) > 0:
            return _LOST_WAKEUP  # items were there to take: a put did not wake it
        return _CLOSE_CONSUMER_HANG if closed else None
    return None
