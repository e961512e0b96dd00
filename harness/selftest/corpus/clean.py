"""The clean members: four implementations that keep what they declare, each declaring
something different.

- ``ours``: stageflow_core, which declares our whole contract;
- ``stdlib_queue``: a wrapper of ``asyncio.Queue`` with an end of stream (queue only, block
  only, no events, no timeout, validates nothing);
- ``drop_newest_queue``: a queue that never blocks: a put on a full queue drops the new item
  (False and an event), a put on a closed queue returns False (as Stageflow's does);
- ``plain_buffer``: an audio buffer that validates nothing and promises nothing beyond the
  universal clauses (bounded, whole frames, bytes intact, trims reported by add_chunk's
  return value).

A clean member must draw no bug from the judge: every bug finding on one is a false finding.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from harness.contract import Declaration, Semantics
from harness.selftest.corpus._base import CorpusTarget, declare, derived_target
from harness.targets import BUILTIN_SEMANTICS, Capabilities, ModuleTarget

__all__ = [
    "OURS",
    "DropNewestQueue",
    "PlainBuffer",
    "QueueClosed",
    "StdlibQueue",
    "drop_newest_queue",
    "ours",
    "plain_buffer",
    "stdlib_queue",
]

MODULE = __name__

OURS: Semantics = Semantics([
    *(Declaration(decl.clause, decl.value, f"selftest corpus: {MODULE} (as {decl.where})",
                  decl.quote) for decl in BUILTIN_SEMANTICS["stageflow_core"].values()),
    *(Declaration(clause, True, f"selftest corpus: {MODULE} (DESIGN.md, stageflow_core)")
      for clause in ("queue.timeout_events", "queue.throttle_events",
                     "queue.monitor_counts_drops", "events.emitter_isolated")
      if clause not in BUILTIN_SEMANTICS["stageflow_core"]),
])
"""What stageflow_core declares: the built-in target's declarations (harness.targets), plus
the clauses only the scenarios name."""


def ours() -> ModuleTarget:
    """stageflow_core as a corpus member."""
    return derived_target("selftest:ours", semantics=OURS)


# --- a wrapper of asyncio.Queue -------------------------------------------------------------

class QueueClosed(Exception):
    """A put on a closed queue, or a put that was waiting when the queue closed."""


class StdlibQueue:
    """``asyncio.Queue`` with an end of stream.

    ``put`` waits while the queue is full (no timeout); ``get`` waits while it is empty and
    returns None once it is closed and drained. ``close()`` wakes every waiting put (it
    raises :class:`QueueClosed`) and every waiting get (it returns None). A put on a closed
    queue raises :class:`QueueClosed`; ``None`` is not an item (``TypeError``). No events,
    no arguments validated beyond what ``asyncio.Queue`` does.

    Waiting is ``asyncio.Queue``'s own (cancellation-safe); ``close()`` ends the waits it
    must end by cancelling the waiting tasks and turning that cancellation into the outcome.
    """

    def __init__(self, max_size: int = 100, *, event_emitter: Any = None) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue(max_size)
        self._closed = False
        self._waiting: set[asyncio.Task[Any]] = set()
        self._woken: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return self._queue.qsize()

    async def _wait(self, awaitable: Any) -> tuple[bool, Any]:
        """Await ``awaitable``; ``(True, None)`` when close() ended the wait."""
        task = asyncio.current_task()
        assert task is not None
        self._waiting.add(task)
        try:
            return False, await awaitable
        except asyncio.CancelledError:
            if task in self._woken:
                self._woken.discard(task)
                if task.uncancel() == 0:
                    return True, None
            raise
        finally:
            self._waiting.discard(task)

    def put_nowait(self, item: Any) -> bool:
        if item is None:
            raise TypeError("None is the end of stream, not an item")
        if self._closed:
            raise QueueClosed("put on a closed queue")
        self._queue.put_nowait(item)
        return True

    async def put(self, item: Any) -> bool:
        if item is None:
            raise TypeError("None is the end of stream, not an item")
        if self._closed:
            raise QueueClosed("put on a closed queue")
        closed, _ = await self._wait(self._queue.put(item))
        if closed:
            raise QueueClosed("the queue closed while this put waited")
        return True

    def get_nowait(self) -> Any:
        if self._queue.empty() and self._closed:
            return None
        return self._queue.get_nowait()

    async def get(self) -> Any:
        if self._queue.empty() and self._closed:
            return None
        closed, item = await self._wait(self._queue.get())
        if closed:  # an item handed over in the same tick as close() is still delivered
            return self._queue.get_nowait() if not self._queue.empty() else None
        return item

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        item = await self.get()
        if item is None:
            raise StopAsyncIteration
        return item

    def close(self) -> None:
        """Close (idempotent): refuse puts, wake every waiting put and get."""
        self._closed = True
        for task in list(self._waiting):
            if task not in self._woken:
                self._woken.add(task)
                task.cancel()


STDLIB_SEMANTICS = declare(
    f"{MODULE} (StdlibQueue docstring)",
    queue__closed_put="raise", queue__end_of_stream="return_none",
    queue__close_delivers_pending=True, queue__close_wakes_getters=True,
    queue__close_wakes_putters=True, queue__close_idempotent=True,
    queue__none_item="refused", queue__drop_events=False, queue__blocked_events=False,
    queue__timeout_events=False, queue__throttle_events=False,
    queue__validates_config=False, events__emitter_isolated=False,
)


def stdlib_queue() -> CorpusTarget:
    """The asyncio.Queue wrapper as a corpus member (queue only)."""
    return CorpusTarget(
        "selftest:stdlib_queue", semantics=STDLIB_SEMANTICS, queue_cls=StdlibQueue,
        capabilities=Capabilities(put_nowait=True, overflow_policies=frozenset({"block"}),
                                  iterate=True, events=False),
        closed_errors=(QueueClosed,), full_errors=(asyncio.QueueFull,))


# --- a queue that drops the newest item ----------------------------------------------------

class DropNewestQueue:
    """A bounded queue that never blocks a producer.

    ``put``/``put_nowait`` on a full queue drop the new item: they return False and emit
    ``stream.chunk_dropped`` (``reason="drop_newest"``, the item's ``sequence``). On a closed
    queue they return False (nothing is queued, no event). ``get`` waits while the queue is
    empty and open and returns None once it is closed and drained; ``close()`` wakes every
    waiting get. ``max_size`` < 1 is refused with ValueError.
    """

    def __init__(self, max_size: int = 100, *, event_emitter: Any = None) -> None:
        if not isinstance(max_size, int) or isinstance(max_size, bool):
            raise TypeError(f"max_size must be an int, got {max_size!r}")
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size}")
        self._max_size = max_size
        self._items: deque[Any] = deque()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._closed = False
        self._emit = event_emitter

    def __len__(self) -> int:
        return len(self._items)

    def _wake_getter(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    def put_nowait(self, item: Any) -> bool:
        if self._closed:
            return False
        if len(self._items) >= self._max_size:
            if self._emit is not None:
                self._emit("stream.chunk_dropped", {
                    "reason": "drop_newest", "queue_size": len(self._items),
                    "max_size": self._max_size,
                    "sequence": getattr(item, "sequence", None)})
            return False
        self._items.append(item)
        self._wake_getter()
        return True

    async def put(self, item: Any) -> bool:
        return self.put_nowait(item)

    def get_nowait(self) -> Any:
        if self._items:
            return self._items.popleft()
        if self._closed:
            return None
        raise asyncio.QueueEmpty

    async def get(self) -> Any:
        while not self._items and not self._closed:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                if getter in self._getters:
                    self._getters.remove(getter)
                elif self._items:  # woken, but cannot take the item: wake the next one
                    self._wake_getter()
                raise
        return self.get_nowait()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        item = await self.get()
        if item is None:
            raise StopAsyncIteration
        return item

    def close(self) -> None:
        """Close (idempotent): refuse puts, wake every waiting get."""
        self._closed = True
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)


DROP_NEWEST_SEMANTICS = declare(
    f"{MODULE} (DropNewestQueue docstring)",
    queue__closed_put="return_false", queue__end_of_stream="return_none",
    queue__close_delivers_pending=True, queue__close_wakes_getters=True,
    queue__close_idempotent=True, queue__none_item="end_marker", queue__drop_events=True,
    queue__blocked_events=False, queue__throttle_events=False,
    queue__validates_config=True, events__emitter_isolated=False,
)


def drop_newest_queue() -> CorpusTarget:
    """The drop-newest queue as a corpus member (queue only)."""
    return CorpusTarget(
        "selftest:drop_newest_queue", semantics=DROP_NEWEST_SEMANTICS,
        queue_cls=DropNewestQueue,
        capabilities=Capabilities(put_nowait=True, iterate=True,
                                  overflow_policies=frozenset({"drop_newest"})),
        closed_errors=(), full_errors=())


# --- a buffer that promises nothing ---------------------------------------------------------

class PlainBuffer:
    """A bounded FIFO of PCM_16 audio that checks nothing it is given.

    ``add_chunk`` appends the chunk's bytes whatever its rate, channels or format, then
    drops the oldest whole frames beyond ``max_duration_ms`` and returns how many bytes it
    dropped. ``read(ms)`` removes and returns up to ``ms`` of the oldest audio, in whole
    frames. ``sample_rate`` and ``channels`` are what it was built with. No events, no
    statistics, no level query beyond ``duration_ms``.
    """

    def __init__(self, *, target_duration_ms: float = 100, max_duration_ms: float = 500,
                 sample_rate: int = 16000, channels: int = 1, event_emitter: Any = None) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self._frame = 2 * channels
        self._rate = sample_rate
        self._data = bytearray()
        self._max = int(max_duration_ms * sample_rate / 1000) * self._frame
        self._target = min(int(target_duration_ms * sample_rate / 1000) * self._frame,
                           self._max)

    @property
    def duration_ms(self) -> float:
        return len(self._data) // self._frame / self._rate * 1000  # whole frames held

    def is_ready(self) -> bool:
        return len(self._data) >= self._target

    def is_full(self) -> bool:
        return len(self._data) >= self._max

    def add_chunk(self, chunk: Any) -> int:
        self._data += chunk.data
        excess = len(self._data) - self._max
        if excess <= 0:
            return 0
        excess += -excess % self._frame  # whole frames
        del self._data[:excess]
        return excess

    def read(self, duration_ms: float = 20) -> bytes:
        wanted = int(duration_ms * self._rate / 1000) * self._frame
        available = len(self._data) - len(self._data) % self._frame
        n = min(wanted, available)
        out = bytes(self._data[:n])
        del self._data[:n]
        return out

    def clear(self) -> None:
        self._data.clear()


PLAIN_BUFFER_SEMANTICS = declare(
    f"{MODULE} (PlainBuffer docstring)",
    buffer__validates_chunks=False, buffer__validates_config=False,
    buffer__underrun_events=False, buffer__overflow_events=False,
    events__emitter_isolated=False,
)


def plain_buffer() -> CorpusTarget:
    """The buffer that promises nothing, as a corpus member (buffer only)."""
    return CorpusTarget("selftest:plain_buffer", semantics=PLAIN_BUFFER_SEMANTICS,
                        buffer_cls=PlainBuffer, capabilities=Capabilities(events=False))


