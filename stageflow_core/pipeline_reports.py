"""The frozen snapshots a :class:`~stageflow_core.pipeline.Pipeline` hands out: its
statistics (per stage and edge) and the reports of an interruption and a shutdown.

Each is a copy taken at one moment: keeping one never holds the pipeline's state, and
nothing in one changes afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from stageflow_core.queue import QueueStatistics
from stageflow_core.stage import StageError

__all__ = ["InterruptReport", "PipelineStatistics", "ShutdownReport", "StageStatistics"]


@dataclass(frozen=True, slots=True)
class StageStatistics:
    """A frozen snapshot of one stage and its input edge."""

    name: str
    """The stage's name."""
    items_in: int
    """Items taken from the input edge."""
    items_out: int
    """Outputs handed to the next edge (including those the edge then dropped)."""
    errors: int
    """Calls that raised."""
    cancelled: int
    """Items whose work was cancelled in flight by an interruption or a shutdown."""
    busy_ms: float
    """Time spent in the stage's function (including waits for room downstream)."""
    max_item_ms: float
    """Longest time one item spent in the stage's function."""
    blocked_ms: float
    """Time spent waiting for room in the next edge."""
    refused: int
    """Outputs refused by a ``reject`` edge or by a closed one."""
    in_flight: bool
    """Whether an item is being processed now."""
    flushed: int
    """Items flushed from the input edge by interruptions."""
    discarded: int
    """Items left in the input edge when a shutdown cancelled the stage."""
    restarts: int
    """Times the stage's task was restarted by an interruption."""
    input: QueueStatistics
    """The input edge (``peak_size`` is its high-water mark, ``dropped`` its drops)."""


@dataclass(frozen=True, slots=True)
class PipelineStatistics:
    """A frozen snapshot of a :class:`Pipeline`."""

    stages: tuple[StageStatistics, ...]
    """Per stage, in order."""
    output: QueueStatistics
    """The output queue."""
    output_flushed: int
    """Outputs flushed by interruptions."""
    interruptions: int
    """Calls to ``interrupt()``."""
    state: str
    """``new``, ``running``, ``closing``, ``closed`` or ``failed``."""
    errors: tuple[StageError, ...]
    """Errors raised by stages (the first 100)."""

    def stage(self, name: str) -> StageStatistics:
        """The statistics of the stage called ``name``.

        :raises KeyError: no such stage.
        """
        for stats in self.stages:
            if stats.name == name:
                return stats
        raise KeyError(f"no stage {name!r} (stages: {', '.join(s.name for s in self.stages)})")

    @property
    def dropped(self) -> int:
        """Items dropped by overflow policies on every edge, the output included."""
        return sum(s.input.dropped for s in self.stages) + self.output.dropped


@dataclass(frozen=True, slots=True)
class InterruptReport:
    """What one :meth:`Pipeline.interrupt` discarded."""

    from_stage: str
    """The first stage interrupted."""
    flushed: dict[str, int]
    """Items flushed per edge (stage name, and ``output``)."""
    cancelled: tuple[str, ...]
    """Stages whose in-flight item was cancelled."""
    playout_bytes: int
    """Bytes cleared from the playout buffer (0 without one)."""
    took_ns: int
    """How long the call took."""

    @property
    def items_flushed(self) -> int:
        """All items flushed, every edge."""
        return sum(self.flushed.values())


@dataclass(frozen=True, slots=True)
class ShutdownReport:
    """How a :meth:`Pipeline.close` ended."""

    drained: bool
    """Every stage finished its queued work before the deadline."""
    cancelled: tuple[str, ...]
    """Stages cancelled because they were not done by the deadline (or ``drain=False``)."""
    abandoned: tuple[str, ...]
    """Stages whose task ignored cancellation (left running, never awaited again)."""
    discarded: dict[str, int]
    """Items left in each cancelled stage's input edge, discarded."""
    errors: tuple[StageError, ...]
    """Errors raised by stages over the pipeline's life."""
    took_ms: float
    """How long ``close`` took."""
