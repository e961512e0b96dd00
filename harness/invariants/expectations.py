"""What the checks hold a trace to: the scenario's declarations through its context
(bounds, frame sizes, memory limit, the target's semantics) and what the runner saw at
the deadline (:class:`Expectations`), including the tasks still blocked (:class:`HungTask`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.contract import Semantics

__all__ = ["Expectations", "HungTask"]


@dataclass(frozen=True)
class HungTask:
    """A task still running when the deadline passed, and where it waits."""

    name: str
    where: str
    """One line: ``file:line in function: source`` of the innermost await."""
    stack: str
    """The await chain, outermost first, one frame per line."""
    queue: str | None = None
    """The watched queue it waits on, when the harness could tell."""
    call: str | None = None
    """The queue method it waits in (``put``, ``get``, ``__anext__``...), with ``queue``."""


@dataclass
class Expectations:
    """What a scenario declared through its context, plus what the runner saw at the end."""

    queues: dict[str, int | None] = field(default_factory=dict)
    """Watched queue name -> max_size (None: no bound to check)."""
    queue_peaks: dict[str, int] = field(default_factory=dict)
    """Watched queue name -> peak the target itself reported (statistics/monitor), if any."""
    buffers: dict[str, float | None] = field(default_factory=dict)
    """Watched buffer name -> max duration in ms (None: no bound to check)."""
    frames: dict[str, int] = field(default_factory=dict)
    """Trace sample series -> frame size in bytes: every value must be a multiple."""
    memory_growth_limit: int | None = None
    """Resident memory may grow by at most this many bytes (None: not checked)."""
    blocked_threshold_ms: float = 20.0
    """A put that took at least this long counts as blocked for the telemetry check."""
    hung: list[HungTask] = field(default_factory=list)
    """Tasks still blocked at the deadline (filled by the runner)."""
    abandoned: list[str] = field(default_factory=list)
    """Tasks that ignored cancellation after the deadline (filled by the runner)."""
    deadline_s: float | None = None
    """The scenario's deadline, named in the ``no_hang`` detail."""
    chunk_identity: bool = True
    """False when sends write into a buffer: the per-chunk checks do not apply."""
    stranded_ok: bool = False
    """Chunks left in watched queues are accounted for (set when the scenario was cut)."""
    latency_p99_ms: float | None = None
    """``latency_bounded``: P99 latency (from the intended send time) must not exceed it."""
    closed: dict[str, int] = field(default_factory=dict)
    """Watched queue name -> perf_counter_ns when the scenario began to close it
    (``ctx.closed``): a task still waiting on it at the deadline was not woken by close()."""
    queue_held: dict[str, int] = field(default_factory=dict)
    """Watched queue name -> items it held when the scenario was cut (filled by the runner):
    a consumer still waiting in get() on a queue that holds items was never woken."""
    queue_drops: dict[str, int] = field(default_factory=dict)
    """Watched queue name -> items the target's own counters say it dropped (statistics or
    monitor), when it has such a counter: a drop reported by a counter is not silent."""
    semantics: Semantics = field(default_factory=Semantics)
    """What the target declares (``target.semantics``): the level each clause is judged at."""
    pauses: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))
    """Garbage-collector pauses during the scenario, ``(start_ns, end_ns)`` rows
    (:mod:`harness.pauses`): time no check holds against the target."""
    lag_limit_ms: float = 20.0
    """Sends that started more than this late by the generator's own fault (schedule lag)
    are left out of ``latency_bounded``: their latency is the harness's, not the target's."""
