"""Pipeline: stages (plain async callables) joined by bounded ChunkQueues.

A stage is ``async def fn(item)`` returning one output (``None``: nothing), or an async
generator ``async def fn(item): yield ...`` producing any number of outputs. Each stage
runs in its own task and reads from its input edge, a :class:`ChunkQueue` with the
stage's capacity and overflow policy; the last stage writes to the pipeline's output
queue. Nothing else is added: backpressure, drops and their events are the queues'.

Contracts:

- **Bounded.** Every edge holds at most its ``max_size`` items; ``overflow`` says what a
  stage's output does when the next edge is full (``block`` waits, the drop policies drop
  and count, ``reject`` refuses and counts). Memory does not grow with a slow stage.
- **Nothing lost silently.** An item that entered an edge is taken by the next stage,
  dropped by the edge's policy (counted, ``stream.chunk_dropped``), flushed by
  :meth:`Pipeline.interrupt` (counted per edge) or discarded at shutdown (counted).
- **Interruption** (:meth:`Pipeline.interrupt`, barge-in): in one synchronous call, flushes
  every edge from a stage onwards and the output queue, clears the playout buffer, and
  cancels the in-flight work of those stages (their tasks are restarted; an output of the
  cancelled work can never reach the next edge).
- **Shutdown** (:meth:`Pipeline.close`): with ``drain`` the input is closed and every stage
  finishes what is queued, end of stream travelling down the edges; what is not done by
  the deadline is cancelled. It returns within ``timeout`` (plus scheduling), whatever the
  stages do: a stage that ignores cancellation is abandoned and named in the report.
- **Failure.** A stage that raises (``on_error="stop"``, the default) fails the pipeline:
  the error is recorded with the stage's name, every stage is cancelled and every edge
  closed, so producers get ``QueueClosed`` and the output ends. ``on_error="skip"`` counts
  the error and goes on with the next item.

Use it from one event loop, like the queues it is built on. The stage and its loop are
in :mod:`stageflow_core.stage`, the snapshots and reports in
:mod:`stageflow_core.pipeline_reports`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from time import perf_counter_ns
from typing import Any

from stageflow_core._checks import check_number
from stageflow_core.events import EventEmitter, make_emitter
from stageflow_core.pipeline_reports import (
    InterruptReport,
    PipelineStatistics,
    ShutdownReport,
    StageStatistics,
)
from stageflow_core.queue import ChunkQueue, OverflowPolicy
from stageflow_core.stage import Stage, StageError, StageFunction, StageRunner

__all__ = [  # the pipeline, and (for imports from here) the names it hands out
    "InterruptReport",
    "Pipeline",
    "PipelineStatistics",
    "ShutdownReport",
    "Stage",
    "StageError",
    "StageFunction",
    "StageStatistics",
]

_MAX_ERRORS_KEPT = 100


_STATES = ("new", "running", "closing", "closed", "failed")


class Pipeline:
    """Stages joined by bounded queues, with interruption and a bounded shutdown.

    Example::

        async def parse(line):            # one output per item
            return line.split(",")

        async def explode(fields):        # any number of outputs per item
            for field in fields:
                yield field

        pipeline = Pipeline([Stage("parse", parse), Stage("explode", explode, max_size=64)])
        async with pipeline:              # start(); close() on exit (drains)
            await pipeline.put("a,b")
            print(await pipeline.get())   # "a"

    ``source``: an existing queue to read the first stage's input from (e.g. a
    ``StreamingAudioDuplex.inbound``); default a new one with the first stage's
    ``max_size`` and ``overflow``. ``playout``: a buffer that :meth:`interrupt` clears
    (an object with ``interrupt()``, e.g. ``StreamingAudioDuplex``, or ``clear()``, e.g.
    ``StreamingBuffer``). ``event_emitter`` receives the edges' events (with a ``stage``
    key naming the edge's reader) and ``pipeline.interrupted``, ``pipeline.stage_failed``,
    ``pipeline.closed``.

    :raises TypeError, ValueError: no stages, duplicate stage names, bad sizes or policies.
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        *,
        source: ChunkQueue[Any] | None = None,
        output_size: int = 64,
        output_overflow: OverflowPolicy | str = OverflowPolicy.BLOCK,
        playout: Any = None,
        event_emitter: EventEmitter | None = None,
    ) -> None:
        stages = list(stages)
        if not stages:
            raise ValueError("Pipeline needs at least one stage")
        for stage in stages:
            if not isinstance(stage, Stage):
                raise TypeError(f"Pipeline stages must be Stage objects, got "
                                f"{type(stage).__name__}")
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            duplicated = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"Pipeline stage names must be unique, repeated: {duplicated}")
        if "output" in names:
            raise ValueError("'output' is reserved for the output queue; rename the stage")
        if source is not None and not isinstance(source, ChunkQueue):
            raise TypeError(f"source must be a ChunkQueue, got {type(source).__name__}")
        if playout is not None and not callable(getattr(playout, "interrupt", None)) \
                and not callable(getattr(playout, "clear", None)):
            raise TypeError(f"playout must have interrupt() or clear(), got "
                            f"{type(playout).__name__}")
        self._emit = make_emitter(event_emitter, "Pipeline")
        queues: list[ChunkQueue[Any]] = []
        for i, stage in enumerate(stages):
            if i == 0 and source is not None:
                queues.append(source)
            else:
                queues.append(ChunkQueue(stage.max_size, overflow=stage.overflow,
                                         event_emitter=self._edge_emitter(event_emitter,
                                                                          stage.name)))
        queues.append(ChunkQueue(output_size, overflow=output_overflow,
                                 event_emitter=self._edge_emitter(event_emitter, "output")))
        self._queues = queues
        self._runners = [
            StageRunner(stage, i, queues[i], queues[i + 1], on_failure=self._stage_failed,
                        failed=self._failed)
            for i, stage in enumerate(stages)]
        self._playout = playout
        self._state = "new"
        self._errors: list[StageError] = []
        self._error_count = 0
        self._interruptions = 0
        self._output_flushed = 0
        self._abandoned: list[asyncio.Task[None]] = []
        self._close_report: ShutdownReport | None = None

    @staticmethod
    def _edge_emitter(emitter: EventEmitter | None, stage: str) -> EventEmitter | None:
        if emitter is None:
            return None

        def edge(name: str, payload: dict[str, Any]) -> None:
            emitter(name, {**payload, "stage": stage})

        return edge

    # -- shape ------------------------------------------------------------------------

    @property
    def stage_names(self) -> tuple[str, ...]:
        """The stages' names, in order."""
        return tuple(r.name for r in self._runners)

    @property
    def input(self) -> ChunkQueue[Any]:
        """The first stage's input queue (``put`` and ``put_nowait`` feed it)."""
        return self._queues[0]

    @property
    def output(self) -> ChunkQueue[Any]:
        """The last stage's output queue (``get`` and ``async for`` read it)."""
        return self._queues[-1]

    def edge(self, stage: str | int) -> ChunkQueue[Any]:
        """The input queue of a stage, by name or index.

        :raises KeyError: no such stage.
        """
        return self._queues[self._index(stage)]

    @property
    def state(self) -> str:
        """``new``, ``running``, ``closing``, ``closed`` or ``failed``."""
        return self._state

    @property
    def errors(self) -> tuple[StageError, ...]:
        """Errors raised by stages (the first 100)."""
        return tuple(self._errors)

    def _index(self, stage: str | int) -> int:
        if isinstance(stage, int) and not isinstance(stage, bool):
            if 0 <= stage < len(self._runners):
                return stage
        else:
            for runner in self._runners:
                if runner.name == stage:
                    return runner.index
        raise KeyError(f"no stage {stage!r} (stages: {', '.join(self.stage_names)})")

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Start one task per stage (from a running event loop).

        :raises RuntimeError: already started, or no running event loop.
        """
        if self._state != "new":
            raise RuntimeError(f"Pipeline.start() on a pipeline that is {self._state}")
        loop = asyncio.get_running_loop()
        self._state = "running"
        for runner in self._runners:
            runner.start(loop)

    async def __aenter__(self) -> Pipeline:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- data in and out --------------------------------------------------------------

    async def put(self, item: Any, *, timeout: float | None = None) -> bool:
        """Feed the first stage (``ChunkQueue.put`` semantics on the input edge).

        :raises QueueFull, QueueClosed: as ``ChunkQueue.put`` (closed after ``close()``
            or a failure).
        """
        return await self._queues[0].put(item, timeout=timeout)

    def put_nowait(self, item: Any) -> bool:
        """Feed the first stage without waiting (``ChunkQueue.put_nowait`` semantics)."""
        return self._queues[0].put_nowait(item)

    async def get(self) -> Any:
        """The next output of the last stage; None once the pipeline has ended."""
        return await self._queues[-1].get()

    def __aiter__(self) -> AsyncIterator[Any]:
        """Iterate over the outputs until the pipeline has ended."""
        return self._queues[-1].__aiter__()

    # -- failure ---------------------------------------------------------------------

    def _failed(self) -> bool:
        return self._state == "failed"

    def _stage_failed(self, runner: StageRunner, exc: Exception) -> bool:
        """Record ``exc``; True when the stage goes on (``skip``)."""
        self._error_count += 1
        error = StageError(runner.name, runner.index, exc, perf_counter_ns())
        if len(self._errors) < _MAX_ERRORS_KEPT:
            self._errors.append(error)
        if runner.on_error == "skip":
            return True
        if self._state in ("running", "closing"):
            self._state = "failed"
            if self._emit is not None:
                self._emit.emit("pipeline.stage_failed", {
                    "stage": runner.name, "index": runner.index,
                    "error": f"{type(exc).__name__}: {exc}"})
            for other in self._runners:
                if other is not runner and other.task is not None and not other.task.done():
                    other.task.cancel()
            for queue in self._queues:
                queue.close_nowait()
        return False

    # -- interruption -----------------------------------------------------------------

    def interrupt(self, at: str | int = 0) -> InterruptReport:
        """Barge-in: discard everything pending from stage ``at`` onwards, at once.

        Clears the playout buffer first (what the listener hears), then flushes the
        input edge of stage ``at`` and of every later stage and the output queue
        (counted per edge as ``flushed``) and cancels the in-flight work of those
        stages; their tasks are restarted, so the pipeline goes on with what arrives
        next. Earlier stages are untouched.

        :raises KeyError: no such stage.
        """
        started = perf_counter_ns()
        index = self._index(at)
        # the speaker first: the listener hears the playout buffer, nothing else
        playout_bytes = self._clear_playout()
        self._interruptions += 1
        restart = self._state in ("running", "closing")
        flushed: dict[str, int] = {}
        cancelled: list[str] = []
        for runner in self._runners[index:]:
            runner.epoch += 1  # outputs of the work in flight are dropped from now on
            task = runner.task
            if restart and task is not None and not task.done():
                if runner.in_flight:
                    cancelled.append(runner.name)
                task.cancel()
            count = _flush(self._queues[runner.index])
            runner.flushed += count
            flushed[runner.name] = count
        count = _flush(self._queues[-1])
        self._output_flushed += count
        flushed["output"] = count
        if restart:
            loop = asyncio.get_running_loop()
            for runner in self._runners[index:]:
                if runner.task is not None and runner.task.done() and \
                        self._queues[runner.index + 1].is_closed:
                    continue  # this stage had already ended its stream
                runner.restarts += 1
                runner.start(loop)
        report = InterruptReport(self._runners[index].name, flushed, tuple(cancelled),
                                 playout_bytes, perf_counter_ns() - started)
        if self._emit is not None:
            self._emit.emit("pipeline.interrupted", {
                "from_stage": report.from_stage, "items_flushed": report.items_flushed,
                "flushed": dict(flushed), "cancelled": list(cancelled),
                "playout_bytes": playout_bytes})
        return report

    def is_busy(self, at: str | int = 0) -> bool:
        """Whether stage ``at`` or a later one has an item in flight or queued in its
        input edge, or the output queue holds one: what :meth:`interrupt` would discard.
        Reads counters only (no snapshot), so it is cheap enough for every input chunk.

        :raises KeyError: no such stage.
        """
        index = self._index(at)
        queues = self._queues
        for runner in self._runners[index:]:
            if runner.in_flight or len(queues[runner.index]):
                return True
        return len(queues[-1]) > 0

    def _clear_playout(self) -> int:
        playout = self._playout
        if playout is None:
            return 0
        interrupt = getattr(playout, "interrupt", None)
        cleared = interrupt() if callable(interrupt) else playout.clear()
        return int(cleared or 0)

    # -- shutdown ---------------------------------------------------------------------

    async def close(self, *, drain: bool = True, timeout: float = 1.0) -> ShutdownReport:
        """End the pipeline within ``timeout`` seconds; idempotent (a second call returns
        the first report).

        With ``drain`` the input edge is closed and the stages finish what is queued; any
        stage not done ``min(0.1 s, timeout / 10)`` before the deadline is cancelled, its
        queued items discarded (counted). Without ``drain`` every stage is cancelled at
        once. The output queue is closed last: what it holds can still be read.

        :raises ValueError: ``timeout`` negative or NaN.
        """
        timeout = check_number("timeout", timeout)
        if self._close_report is not None:
            return self._close_report
        started = perf_counter_ns()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        grace = min(0.1, timeout / 10)
        if self._state in ("new", "running"):
            self._state = "closing"
        tasks = [r.task for r in self._runners if r.task is not None and not r.task.done()]
        if drain and self._state == "closing":
            self._queues[0].close_nowait()
            if tasks:
                await asyncio.wait(tasks, timeout=max(0.0, deadline - grace - loop.time()))
        cancelled: list[str] = []
        discarded: dict[str, int] = {}
        pending = [r for r in self._runners if r.task is not None and not r.task.done()]
        for runner in pending:
            cancelled.append(runner.name)
            assert runner.task is not None
            runner.task.cancel()
        for queue in self._queues[:-1]:
            queue.close_nowait()
        for runner in self._runners:
            if runner.name in cancelled or self._state == "failed":
                count = _flush(self._queues[runner.index])
                if count:
                    runner.discarded += count
                    discarded[runner.name] = count
        abandoned: list[str] = []
        if pending:
            waiting = [r.task for r in pending if r.task is not None]
            await asyncio.wait(waiting, timeout=max(0.0, deadline - loop.time()))
            for runner in pending:
                if runner.task is not None and not runner.task.done():
                    abandoned.append(runner.name)
                    self._abandoned.append(runner.task)
        for runner in self._runners:
            task = runner.task
            if task is not None and task.done() and not task.cancelled():
                task.exception()  # retrieved: never logged as "exception never retrieved"
        self._queues[-1].close_nowait()
        if self._state != "failed":
            self._state = "closed"
        report = ShutdownReport(
            drained=drain and not cancelled and self._state != "failed",
            cancelled=tuple(cancelled), abandoned=tuple(abandoned), discarded=discarded,
            errors=tuple(self._errors), took_ms=(perf_counter_ns() - started) / 1e6)
        self._close_report = report
        if self._emit is not None:
            self._emit.emit("pipeline.closed", {
                "drained": report.drained, "cancelled": list(report.cancelled),
                "abandoned": list(report.abandoned), "discarded": dict(discarded),
                "errors": len(self._errors), "took_ms": report.took_ms})
        return report

    # -- accounting -------------------------------------------------------------------

    def statistics(self) -> PipelineStatistics:
        """A frozen snapshot of every stage, edge and the output."""
        stages = tuple(
            StageStatistics(
                name=r.name, items_in=r.items_in, items_out=r.items_out, errors=r.errors,
                cancelled=r.cancelled, busy_ms=r.busy_ns / 1e6,
                max_item_ms=r.max_item_ns / 1e6, blocked_ms=r.blocked_ns / 1e6,
                refused=r.refused, in_flight=r.in_flight, flushed=r.flushed,
                discarded=r.discarded, restarts=r.restarts,
                input=self._queues[r.index].statistics())
            for r in self._runners)
        return PipelineStatistics(
            stages=stages, output=self._queues[-1].statistics(),
            output_flushed=self._output_flushed, interruptions=self._interruptions,
            state=self._state, errors=tuple(self._errors))

    def __repr__(self) -> str:
        return f"<Pipeline {' -> '.join(self.stage_names)} {self._state}>"


def _flush(queue: ChunkQueue[Any]) -> int:
    """Take every item out of ``queue`` without waiting; how many there were."""
    count = len(queue)
    if count:
        queue.get_many_nowait(count)
    return count
