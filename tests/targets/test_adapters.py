"""Adapter transparency: each built-in adapter adds nothing of its own.

One deterministic script of puts, gets, a blocked put and get, a cancelled get, ``None``
as an item and close runs twice per library: through the adapter's queue, and on the
library's own objects called directly. Every step is recorded as what it returned or
raised and after how many event-loop iterations it ended, so a loss, a reordering, an
extra wait or an extra exception introduced by the adapter makes the two traces differ.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from harness.targets import BUILTIN_TARGETS, error_kind, load_target

pytestmark = pytest.mark.timeout(30)

LIBRARIES = ("asyncio", "anyio", "janus", "culsans", "aiochannel", "livekit")
SPINS = 30
"""Event-loop iterations a step may take before it counts as still pending."""


def installed(name: str) -> Any:
    return pytest.param(name, marks=pytest.mark.skipif(
        not BUILTIN_TARGETS[name].installed(),
        reason=f"{name}: {BUILTIN_TARGETS[name].install}"))


@dataclass
class Ops:
    """One queue's operations, whoever provides them."""

    put: Callable[[Any], Any]
    put_nowait: Callable[[Any], Any]
    get: Callable[[], Any]
    get_nowait: Callable[[], Any]
    close: Callable[[], Any] | None
    size: Callable[[], int]
    anext: Callable[[], Any] | None = None


def adapter_ops(queue: Any) -> Ops:
    return Ops(queue.put, queue.put_nowait, queue.get, queue.get_nowait,
               getattr(queue, "close", None), queue.__len__,
               queue.__anext__ if hasattr(queue, "__anext__") else None)


def direct_ops(name: str, max_size: int) -> Ops:
    """The library's own objects, called as its documentation shows."""
    if name == "asyncio":
        q = asyncio.Queue(max_size)
        return Ops(q.put, q.put_nowait, q.get, q.get_nowait,
                   getattr(q, "shutdown", None), q.qsize)
    if name == "anyio":
        import anyio

        send, receive = anyio.create_memory_object_stream(max_size)
        direct_ops.keep = (send, receive)  # closed at the end of the script
        return Ops(send.send, send.send_nowait, receive.receive, receive.receive_nowait,
                   send.close, lambda: receive.statistics().current_buffer_used,
                   receive.__anext__)
    if name == "janus":
        import janus

        jq = janus.Queue(max_size)
        return Ops(jq.async_q.put, jq.async_q.put_nowait, jq.async_q.get,
                   jq.async_q.get_nowait, jq.shutdown, jq.async_q.qsize)
    if name == "culsans":
        import culsans

        cq = culsans.Queue(max_size)
        return Ops(cq.async_q.put, cq.async_q.put_nowait, cq.async_q.get,
                   cq.async_q.get_nowait, cq.async_q.shutdown, cq.async_q.qsize)
    if name == "aiochannel":
        from aiochannel import Channel

        ch = Channel(max_size)
        return Ops(ch.put, ch.put_nowait, ch.get, ch.get_nowait, ch.close, ch.qsize,
                   ch.__anext__)
    if name == "livekit":
        from harness.targets.livekit_chan import load_channel_module

        chan = load_channel_module().Chan(max_size)
        return Ops(chan.send, chan.send_nowait, chan.recv, chan.recv_nowait, chan.close,
                   chan.qsize, chan.__anext__)
    raise AssertionError(name)


def label(value: Any = None, exc: BaseException | None = None) -> str:
    if exc is not None:
        return f"raised {type(exc).__name__}"
    return f"ok {value!r}"


async def outcome(task: asyncio.Task[Any]) -> str:
    """What ``task`` ended with and after how many loop iterations (or ``pending``)."""
    spins = 0
    while not task.done():
        if spins == SPINS:
            return "pending"
        await asyncio.sleep(0)
        spins += 1
    if task.cancelled():
        return f"cancelled after {spins}"
    return f"{label(exc=task.exception()) if task.exception() else label(task.result())} " \
           f"after {spins}"


def now(call: Callable[[], Any]) -> str:
    try:
        return label(call())
    except Exception as exc:
        return label(exc=exc)


async def script(ops: Ops) -> list[str]:
    """The same steps whoever provides ``ops`` (queue of 3)."""
    trace: list[str] = []
    spawn = asyncio.ensure_future
    for item in (1, 2, 3):
        trace.append(f"put {item}: {await outcome(spawn(ops.put(item)))}")
    trace.append(f"put_nowait on full: {now(lambda: ops.put_nowait(4))}")
    trace.append(f"len: {ops.size()}")
    blocked = spawn(ops.put(5))
    trace.append(f"put on full: {await outcome(blocked)}")
    trace.append(f"get: {await outcome(spawn(ops.get()))}")
    trace.append(f"blocked put after get: {await outcome(blocked)}")
    trace += [f"get_nowait: {now(ops.get_nowait)}" for _ in range(4)]
    waiting = spawn(ops.get())
    trace.append(f"get on empty: {await outcome(waiting)}")
    trace.append(f"put_nowait 6: {now(lambda: ops.put_nowait(6))}")
    trace.append(f"waiting get: {await outcome(waiting)}")
    cancelled = spawn(ops.get())
    await outcome(cancelled)
    cancelled.cancel()
    trace.append(f"cancelled get: {await outcome(cancelled)}")
    trace.append(f"put 7: {await outcome(spawn(ops.put(7)))}")
    trace.append(f"put None: {await outcome(spawn(ops.put(None)))}")
    if ops.anext is not None:
        trace.append(f"anext: {await outcome(spawn(ops.anext()))}")
    else:
        trace.append(f"get: {await outcome(spawn(ops.get()))}")
    trace.append(f"get None: {await outcome(spawn(ops.get()))}")
    if ops.close is None:
        trace.append("no close")
        return trace
    trace.append(f"put 8: {await outcome(spawn(ops.put(8)))}")
    waiting = [spawn(ops.get()), spawn(ops.get())]
    trace.append(f"first get before close: {await outcome(waiting[0])}")
    trace.append(f"second get before close: {await outcome(waiting[1])}")
    trace.append(f"close: {now(ops.close)}")
    trace.append(f"second get after close: {await outcome(waiting[1])}")
    trace.append(f"put after close: {await outcome(spawn(ops.put(9)))}")
    trace.append(f"put_nowait after close: {now(lambda: ops.put_nowait(9))}")
    trace.append(f"get after close: {await outcome(spawn(ops.get()))}")
    trace.append(f"get_nowait after close: {now(ops.get_nowait)}")
    if ops.anext is not None:
        trace.append(f"anext after close: {await outcome(spawn(ops.anext()))}")
    trace.append(f"close again: {now(ops.close)}")
    return trace


async def run_both(name: str) -> tuple[list[str], list[str]]:
    target = load_target(name)
    through = await script(adapter_ops(target.make_queue(3)))
    direct = await script(direct_ops(name, 3))
    for stream in getattr(direct_ops, "keep", ()):
        stream.close()
    return through, direct


@pytest.mark.parametrize("name", [installed(n) for n in LIBRARIES])
async def test_adapter_trace_equals_the_library_used_directly(name: str) -> None:
    through, direct = await run_both(name)
    assert through == direct


@pytest.mark.parametrize("name", [installed(n) for n in LIBRARIES])
async def test_the_script_delivers_every_item_in_order(name: str) -> None:
    """The trace the comparison relies on shows the library's FIFO delivery (so two equal
    traces are equal for a reason): 1, then 2, 3, 5 by get_nowait, then 6 and 7."""
    through, _ = await run_both(name)
    got = [line.split(": ", 1)[1].split(" after")[0] for line in through
           if line.startswith(("get:", "get_nowait:", "waiting get:", "anext:"))]
    assert got[:6] == ["ok 1", "ok 2", "ok 3", "ok 5", got[4], "ok 6"]
    assert got[6] == "ok 7"
    assert "put on full: pending" in through
    assert any(line.startswith("blocked put after get: ok None") for line in through)


@pytest.mark.parametrize("name", [installed(n) for n in LIBRARIES])
def test_declared_errors_classify_what_the_library_raises(name: str) -> None:
    target = load_target(name)

    async def main() -> dict[str, str | None]:
        q = target.make_queue(1)
        q.put_nowait(1)
        kinds: dict[str, str | None] = {}
        try:
            q.put_nowait(2)
        except Exception as exc:
            kinds["full"] = error_kind(target, exc, call="put")
        q.get_nowait()
        try:
            q.get_nowait()
        except Exception as exc:
            kinds["empty"] = error_kind(target, exc, call="get")
        if target.capabilities.close:
            q.close()
            try:
                await q.get()
            except Exception as exc:
                kinds["end"] = error_kind(target, exc, call="get")
            try:
                await q.put(3)
            except Exception as exc:
                kinds["closed"] = error_kind(target, exc, call="put")
        return kinds

    kinds = asyncio.run(main())
    assert kinds.pop("full") == "full"
    assert kinds.pop("empty") == "empty"
    assert all(kind in ("end", "closed") for kind in kinds.values())
    assert (len(kinds) == 2) == target.capabilities.close


def test_asyncio_without_shutdown_has_no_close_and_declares_none() -> None:
    target = load_target("asyncio")
    has = hasattr(asyncio.Queue, "shutdown")
    assert target.capabilities.close is has
    assert hasattr(target.make_queue(1), "close") is has
    assert ("queue.closed_put" in target.semantics) is has


@pytest.mark.parametrize("name", [installed(n) for n in LIBRARIES])
async def test_a_task_waiting_inside_the_library_is_seen_in_the_harness_call(name: str) -> None:
    """The runner names where a hung task waits by the harness call (``put``/``get``) even
    when the frame it waits in is the library's own (anyio's ``send``, livekit's ``recv``)."""
    from harness.runner import waiting_on

    target = load_target(name)
    full, empty = target.make_queue(1), target.make_queue(1)
    await full.put(1)
    putter, getter = asyncio.ensure_future(full.put(2)), asyncio.ensure_future(empty.get())
    for _ in range(5):
        await asyncio.sleep(0)
    try:
        assert waiting_on(putter, {"full": full, "empty": empty}) == ("full", "put")
        assert waiting_on(getter, {"full": full, "empty": empty}) == ("empty", "get")
    finally:
        putter.cancel()
        getter.cancel()
        await asyncio.gather(putter, getter, return_exceptions=True)
