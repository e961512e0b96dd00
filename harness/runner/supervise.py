"""Supervising one attempt on a fresh event loop: waiting for its tasks until they end,
one crashes or the cut before the deadline; then reporting the hung ones (with where they
wait), cancelling them and abandoning those that ignore cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from harness.invariants import HungTask
from harness.runner.context import RunContext, _reported_drops, _reported_peak
from harness.runner.waits import await_stack, waiting_on
from mocks.consumers import take_nowait

__all__: list[str] = []

_ABANDONED: list[asyncio.Task[Any]] = []  # tasks that ignored cancellation: never resumed


@dataclass
class _Supervised:
    hung: list[HungTask] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    error: BaseException | None = None
    error_task: str = ""
    stranded: list[tuple[int, int, int]] = field(default_factory=list)
    cut: bool = False
    loop_messages: list[str] = field(default_factory=list)


async def _supervise(ctx: RunContext, cut_ns: int, grace_s: float) -> _Supervised:
    out = _Supervised()
    loop = asyncio.get_running_loop()
    sampler = loop.create_task(ctx.sampler(), name="harness-sampler")
    main = loop.create_task(ctx.spec.fn(ctx), name=ctx.name)
    ctx.main_task = main

    def remaining() -> float:
        return max(0.0, (cut_ns - time.perf_counter_ns()) / 1e9)

    try:
        while True:  # until everything is done, something crashed, or the cut
            if main.done() and not main.cancelled() and main.exception() is not None:
                out.error, out.error_task = main.exception(), ctx.name
                break
            crashed = [t for t, may_fail in ctx.tasks
                       if t.done() and not may_fail and not t.cancelled()
                       and t.exception() is not None]
            if crashed:
                out.error, out.error_task = crashed[0].exception(), crashed[0].get_name()
                break
            pending = [t for t, _ in ctx.tasks if not t.done()]
            if not main.done():
                pending.append(main)
            if not pending or remaining() <= 0:
                break
            await asyncio.wait(pending, timeout=remaining(),
                               return_when=asyncio.FIRST_COMPLETED)
        still = [t for t, _ in ctx.tasks if not t.done()]
        if out.error is None and (still or not main.done()):
            out.cut = True
            for name, queue in ctx.queues.items():  # what each queue held while tasks waited
                with contextlib.suppress(Exception):
                    ctx.expectations.queue_held[name] = len(queue)
            blocked = still or [main]
            for task in blocked:
                where, stack = await_stack(task)
                queue, call = waiting_on(task, ctx.queues) or (None, None)
                out.hung.append(HungTask(task.get_name(), where, stack, queue=queue,
                                         call=call))
                ctx.trace.blocked[task.get_name()] = where
        leftovers = [*still, *([] if main.done() else [main])]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers, timeout=grace_s)
            for task in leftovers:
                if not task.done():
                    out.abandoned.append(task.get_name())
                    _ABANDONED.append(task)
        for name, queue in ctx.queues.items():
            peak = _reported_peak(queue)
            if peak is not None:
                ctx.expectations.queue_peaks[name] = peak
            drops = _reported_drops(queue)
            if drops is not None:
                ctx.expectations.queue_drops[name] = drops
            out.stranded.extend(t for t in take_nowait(queue) if t[0] >= 0)  # identified
        ctx.sample_once(psutil.Process(), time.perf_counter_ns())
    finally:
        sampler.cancel()
        await asyncio.wait({sampler}, timeout=1.0)
    for task, _may_fail in ctx.tasks:  # retrieve exceptions so none is logged as unretrieved
        if task.done() and not task.cancelled():
            task.exception()
    return out


def _run_on_fresh_loop(ctx: RunContext, cut_ns: int, grace_s: float) -> _Supervised:
    loop = asyncio.new_event_loop()
    messages: list[str] = []
    loop.set_exception_handler(lambda _loop, context: messages.append(str(context.get("message"))))
    result: _Supervised | None = None
    try:
        result = loop.run_until_complete(_supervise(ctx, cut_ns, grace_s))
        if not result.abandoned:
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), grace_s))
            with contextlib.suppress(Exception):
                loop.run_until_complete(
                    asyncio.wait_for(loop.shutdown_default_executor(), grace_s))
    finally:
        loop.close()
    result.loop_messages = messages
    return result
