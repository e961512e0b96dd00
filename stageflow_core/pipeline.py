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

Use it from one event loop, like the queues it is built on.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

from stageflow_core._checks import check_int, check_number
from stageflow_core.events import EventEmitter, make_emitter
from stageflow_core.queue import (
    ChunkQueue,
    OverflowPolicy,
    QueueClosed,
    QueueFull,
    QueueStatistics,
    _parse_policy,
)

__all__ = [
    "InterruptReport",
    "Pipeline",
    "PipelineStatistics",
    "ShutdownReport",
    "Stage",
    "StageError",
    "StageFunction",
    "StageStatistics",
]

StageFunction = Callable[[Any], Awaitable[Any]] | Callable[[Any], AsyncIterator[Any]]
"""``async def fn(item) -> output | None`` or ``async def fn(item): yield output``."""

_ON_ERROR = ("stop", "skip")
_MAX_ERRORS_KEPT = 100


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: its name, its function and its input edge.

    ``max_size`` and ``overflow`` configure the queue the stage reads from (for the first
    stage, the pipeline's input). ``finish``, when given, is called once at end of stream
    (``async def finish() -> output | None`` or an async generator), e.g. to emit the last
    partial window. ``on_error``: ``"stop"`` fails the pipeline, ``"skip"`` counts the
    error and takes the next item.

    :raises TypeError: ``fn`` or ``finish`` is not an async function or async generator
        function.
    :raises ValueError: empty name, ``max_size`` < 1, unknown ``overflow`` or ``on_error``.
    """

    name: str
    fn: StageFunction
    max_size: int = 16
    overflow: OverflowPolicy | str = OverflowPolicy.BLOCK
    on_error: str = "stop"
    finish: Callable[[], Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Stage name must be a non-empty str, got {self.name!r}")
        _kind(self.fn, f"Stage {self.name!r} fn")
        if self.finish is not None:
            _kind(self.finish, f"Stage {self.name!r} finish")
        check_int("max_size", self.max_size, minimum=1)
        _parse_policy(self.overflow)
        if self.on_error not in _ON_ERROR:
            raise ValueError(f"Stage {self.name!r} on_error must be one of {_ON_ERROR}, "
                             f"got {self.on_error!r}")


def _kind(fn: Any, what: str) -> str:
    """``"gen"`` for an async generator function, ``"coro"`` for an async function."""
    call = type(fn).__call__ if callable(fn) and not inspect.isroutine(fn) else None
    for candidate in (fn, call):  # a function, or an object with an async __call__
        if inspect.isasyncgenfunction(candidate):
            return "gen"
        if inspect.iscoroutinefunction(candidate):
            return "coro"
    raise TypeError(f"{what} must be an async function or an async generator function, "
                    f"got {type(fn).__name__}")


@dataclass(frozen=True, slots=True)
class StageError:
    """An exception raised by a stage's function."""

    stage: str
    """The stage's name."""
    index: int
    """Its position in the pipeline (0 = first)."""
    error: BaseException
    """The exception."""
    at_ns: int
    """``perf_counter_ns()`` when it was caught."""

    def __str__(self) -> str:
        return f"stage {self.stage!r} raised {type(self.error).__name__}: {self.error}"


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


class _Runner:
    """The mutable state of one stage (one per stage; the public snapshot is
    :class:`StageStatistics`)."""

    __slots__ = ("blocked_ns", "busy_ns", "cancelled", "discarded", "epoch", "errors",
                 "finish", "finish_kind", "flushed", "fn", "in_flight", "index", "items_in",
                 "items_out", "kind", "max_item_ns", "name", "on_error", "refused",
                 "restarts", "task")

    def __init__(self, stage: Stage, index: int) -> None:
        self.name = stage.name
        self.index = index
        self.fn = stage.fn
        self.kind = _kind(stage.fn, stage.name)
        self.finish = stage.finish
        self.finish_kind = _kind(stage.finish, stage.name) if stage.finish else ""
        self.on_error = stage.on_error
        self.task: asyncio.Task[None] | None = None
        self.epoch = 0
        self.items_in = self.items_out = self.errors = self.cancelled = 0
        self.refused = self.flushed = self.discarded = self.restarts = 0
        self.busy_ns = self.max_item_ns = self.blocked_ns = 0
        self.in_flight = False


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
        self._runners = [_Runner(stage, i) for i, stage in enumerate(stages)]
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
            runner.task = loop.create_task(self._run(runner, runner.epoch),
                                           name=f"stage:{runner.name}")

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

    # -- the stage loop ---------------------------------------------------------------

    async def _run(self, runner: _Runner, epoch: int) -> None:
        inbox = self._queues[runner.index]
        outbox = self._queues[runner.index + 1]
        clock = perf_counter_ns
        fn = runner.fn
        generator = runner.kind == "gen"
        while True:
            item = await inbox.get()
            if item is None:
                break
            runner.items_in += 1
            runner.in_flight = True
            started = clock()
            try:
                if generator:
                    async for out in fn(item):
                        if out is not None and not await self._forward(runner, epoch,
                                                                       outbox, out):
                            return
                else:
                    out = await fn(item)
                    if out is not None and not await self._forward(runner, epoch, outbox, out):
                        return
            except asyncio.CancelledError:
                runner.cancelled += 1
                raise
            except Exception as exc:
                runner.errors += 1
                if not self._stage_failed(runner, exc):
                    return
            finally:
                took = clock() - started
                runner.busy_ns += took
                if took > runner.max_item_ns:
                    runner.max_item_ns = took
                if runner.epoch == epoch:  # a restarted generation owns the flag now
                    runner.in_flight = False
        if runner.epoch == epoch and self._state != "failed":
            if runner.finish is not None:
                await self._finish(runner, epoch, outbox)
            outbox.close_nowait()  # end of stream travels to the next stage

    async def _finish(self, runner: _Runner, epoch: int, outbox: ChunkQueue[Any]) -> None:
        assert runner.finish is not None
        try:
            if runner.finish_kind == "gen":
                async for out in runner.finish():
                    if out is not None and not await self._forward(runner, epoch, outbox, out):
                        return
            else:
                out = await runner.finish()
                if out is not None:
                    await self._forward(runner, epoch, outbox, out)
        except Exception as exc:
            runner.errors += 1
            self._stage_failed(runner, exc)

    async def _forward(self, runner: _Runner, epoch: int, outbox: ChunkQueue[Any],
                       out: Any) -> bool:
        """Hand ``out`` to the next edge; False when the stage must stop (edge closed)."""
        if runner.epoch != epoch:  # work of an interrupted generation: never forwarded
            return True
        runner.items_out += 1
        try:
            outbox.put_nowait(out)
        except QueueFull:
            if outbox.overflow is not OverflowPolicy.BLOCK:
                runner.refused += 1  # reject policy: counted by the edge as rejected
                return True
            started = perf_counter_ns()
            try:
                await outbox.put(out)
            except QueueClosed:
                runner.refused += 1
                return False
            finally:
                runner.blocked_ns += perf_counter_ns() - started
        except QueueClosed:
            runner.refused += 1
            return False
        return True

    def _stage_failed(self, runner: _Runner, exc: Exception) -> bool:
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
                runner.task = loop.create_task(self._run(runner, runner.epoch),
                                               name=f"stage:{runner.name}")
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
