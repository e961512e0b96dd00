"""Stage: one step of a :class:`~stageflow_core.pipeline.Pipeline`, and its loop.

A stage is ``async def fn(item)`` returning one output (``None``: nothing), or an async
generator ``async def fn(item): yield ...`` producing any number of outputs. The stage
loop (:class:`StageRunner`, one task per stage) takes items from the stage's input edge,
calls ``fn`` and hands each output to the next edge under that edge's overflow policy;
at end of stream it calls ``finish`` and closes the next edge, so the end travels down.

Contracts of the loop (the pipeline's are in :mod:`stageflow_core.pipeline`):

- **Generations.** An interruption bumps the runner's ``epoch`` and restarts its task:
  an output of an older generation is never handed on, and only the current generation
  clears ``in_flight``.
- **Accounting.** Every output handed on counts in ``items_out``; one a ``reject`` or
  closed edge refuses counts in ``refused``; time in ``fn`` in ``busy_ns`` (waits for
  room downstream included, and apart in ``blocked_ns``).
- **Errors.** An exception from ``fn`` or ``finish`` counts in ``errors`` and goes to the
  pipeline's ``on_failure``, which says whether the stage goes on (``on_error="skip"``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

from stageflow_core._checks import check_int
from stageflow_core.queue import ChunkQueue, OverflowPolicy, QueueClosed, QueueFull, _parse_policy

__all__ = ["Stage", "StageError", "StageFunction"]

StageFunction = Callable[[Any], Awaitable[Any]] | Callable[[Any], AsyncIterator[Any]]
"""``async def fn(item) -> output | None`` or ``async def fn(item): yield output``."""

_ON_ERROR = ("stop", "skip")


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


OnFailure = Callable[["StageRunner", Exception], bool]
"""``on_failure(runner, exc)``: records the error; True when the stage goes on."""


class StageRunner:
    """Internal to the pipeline: the mutable state and the loop of one stage between its
    ``inbox`` and ``outbox`` (its public snapshot is a ``StageStatistics``).

    ``failed()`` says whether the pipeline has failed (then end of stream is not passed
    on: every edge is being closed anyway).
    """

    __slots__ = ("blocked_ns", "busy_ns", "cancelled", "discarded", "epoch", "errors",
                 "failed", "finish", "finish_kind", "flushed", "fn", "in_flight", "inbox",
                 "index", "items_in", "items_out", "kind", "max_item_ns", "name",
                 "on_error", "on_failure", "outbox", "refused", "restarts", "task")

    def __init__(self, stage: Stage, index: int, inbox: ChunkQueue[Any],
                 outbox: ChunkQueue[Any], *, on_failure: OnFailure,
                 failed: Callable[[], bool]) -> None:
        self.name = stage.name
        self.index = index
        self.fn = stage.fn
        self.kind = _kind(stage.fn, stage.name)
        self.finish = stage.finish
        self.finish_kind = _kind(stage.finish, stage.name) if stage.finish else ""
        self.on_error = stage.on_error
        self.inbox = inbox
        self.outbox = outbox
        self.on_failure = on_failure
        self.failed = failed
        self.task: asyncio.Task[None] | None = None
        self.epoch = 0
        self.items_in = self.items_out = self.errors = self.cancelled = 0
        self.refused = self.flushed = self.discarded = self.restarts = 0
        self.busy_ns = self.max_item_ns = self.blocked_ns = 0
        self.in_flight = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run the current generation in a new task (``stage:<name>``)."""
        self.task = loop.create_task(self.run(self.epoch), name=f"stage:{self.name}")

    async def run(self, epoch: int) -> None:
        """The stage loop of generation ``epoch``: until end of stream, a failure, a
        closed next edge or cancellation."""
        inbox = self.inbox
        clock = perf_counter_ns
        fn = self.fn
        forward = self.forward
        generator = self.kind == "gen"
        while True:
            item = await inbox.get()
            if item is None:
                break
            self.items_in += 1
            self.in_flight = True
            started = clock()
            try:
                if generator:
                    async for out in fn(item):
                        if out is not None and not await forward(epoch, out):
                            return
                else:
                    out = await fn(item)
                    if out is not None and not await forward(epoch, out):
                        return
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            except Exception as exc:
                self.errors += 1
                if not self.on_failure(self, exc):
                    return
            finally:
                took = clock() - started
                self.busy_ns += took
                if took > self.max_item_ns:
                    self.max_item_ns = took
                if self.epoch == epoch:  # a restarted generation owns the flag now
                    self.in_flight = False
        if self.epoch == epoch and not self.failed():
            if self.finish is not None:
                await self._finish(epoch)
            self.outbox.close_nowait()  # end of stream travels to the next stage

    async def _finish(self, epoch: int) -> None:
        assert self.finish is not None
        try:
            if self.finish_kind == "gen":
                async for out in self.finish():
                    if out is not None and not await self.forward(epoch, out):
                        return
            else:
                out = await self.finish()
                if out is not None:
                    await self.forward(epoch, out)
        except Exception as exc:
            self.errors += 1
            self.on_failure(self, exc)

    async def forward(self, epoch: int, out: Any) -> bool:
        """Hand ``out`` to the next edge; False when the stage must stop (edge closed)."""
        if self.epoch != epoch:  # work of an interrupted generation: never forwarded
            return True
        self.items_out += 1
        outbox = self.outbox
        try:
            outbox.put_nowait(out)
        except QueueFull:
            if outbox.overflow is not OverflowPolicy.BLOCK:
                self.refused += 1  # reject policy: counted by the edge as rejected
                return True
            started = perf_counter_ns()
            try:
                await outbox.put(out)
            except QueueClosed:
                self.refused += 1
                return False
            finally:
                self.blocked_ns += perf_counter_ns() - started
        except QueueClosed:
            self.refused += 1
            return False
        return True
