"""``asyncio``: the standard library's ``asyncio.Queue``, queue part only.

``close()`` is ``Queue.shutdown()`` where the running Python has it (3.13+). Before 3.13
asyncio.Queue has no way to end a stream, and the adapter does not invent one (a sentinel
item would take a slot and change what is measured): the ``close`` capability is off and
no close clause is declared, so scenarios that need an end of stream skip.
"""

from __future__ import annotations

import asyncio
import platform
from typing import Any

from harness.contract import Declaration, Semantics
from harness.targets.base import Adapter, Capabilities, EventEmitter, LibraryCode

__all__ = ["AsyncioQueue", "AsyncioTarget"]

HAS_SHUTDOWN = hasattr(asyncio.Queue, "shutdown")
_WHERE = "Lib/asyncio/queues.py"

_ALWAYS = [
    Declaration("queue.none_item", "data", where=f"{_WHERE}, Queue.put docstring",
                quote="Put an item into the queue. (any object, None included)"),
    Declaration("queue.overflow_policies", frozenset({"block"}),
                where=f"{_WHERE}, Queue docstring",
                quote='"await put()" will block when the queue reaches maxsize, until an '
                      "item is removed by get()."),
    Declaration("queue.full_put", "block",
                where=f"{_WHERE}, Queue docstring",
                quote='"await put()" will block when the queue reaches maxsize, until an '
                      "item is removed by get()."),
    Declaration("queue.validates_config", False, where=f"{_WHERE}, Queue docstring",
                quote="If maxsize is less than or equal to zero, the queue size is "
                      "infinite."),
    Declaration("queue.zero_size", "unbounded", where=f"{_WHERE}, Queue docstring",
                quote="If maxsize is less than or equal to zero, the queue size is "
                      "infinite."),
    Declaration("queue.drop_events", False, where=f"{_WHERE}, Queue.__init__",
                quote="def __init__(self, maxsize=0) (no event hook)"),
    Declaration("queue.blocked_events", False, where=f"{_WHERE}, Queue.__init__",
                quote="def __init__(self, maxsize=0) (no event hook)"),
]
_SHUTDOWN = [
    Declaration("queue.closed_put", "raise", where=f"{_WHERE}, Queue.put docstring (3.13)",
                quote="Raises QueueShutDown if the queue has been shut down."),
    Declaration("queue.end_of_stream", "raise", where=f"{_WHERE}, Queue.get docstring (3.13)",
                quote="Raises QueueShutDown if the queue has been shut down and is empty, "
                      "or if the queue has been shut down immediately."),
    Declaration("queue.close_delivers_pending", True,
                where=f"{_WHERE}, Queue.shutdown docstring (3.13)",
                quote="By default, gets will only raise once the queue is empty."),
    Declaration("queue.close_wakes_getters", True,
                where=f"{_WHERE}, Queue.shutdown docstring (3.13)",
                quote="All blocked callers of put() and get() will be unblocked."),
    Declaration("queue.close_wakes_putters", True,
                where=f"{_WHERE}, Queue.shutdown docstring (3.13)",
                quote="All blocked callers of put() and get() will be unblocked."),
]


class AsyncioQueue:
    """An ``asyncio.Queue`` in the harness's queue API: each method calls the queue's own
    and returns what it returns (``close`` is ``shutdown``, on 3.13+; ``len()`` is
    ``qsize()``)."""

    __slots__ = ("native", "natives")

    def __init__(self, max_size: int) -> None:
        self.native = queue = asyncio.Queue(max_size)
        self.natives = ((queue, {}),)

    async def put(self, item: Any) -> Any:
        return await self.native.put(item)

    def put_nowait(self, item: Any) -> Any:
        return self.native.put_nowait(item)

    async def get(self) -> Any:
        return await self.native.get()

    def get_nowait(self) -> Any:
        return self.native.get_nowait()

    if HAS_SHUTDOWN:
        def close(self) -> Any:
            return self.native.shutdown()

    def __len__(self) -> int:
        return self.native.qsize()

    def __repr__(self) -> str:
        return f"<AsyncioQueue {self.native!r}>"


class AsyncioTarget(Adapter):
    """The standard library's asyncio.Queue (queue part only)."""

    name = "asyncio"
    version = f"python {platform.python_version()}"
    parts = frozenset({"queue"})
    capabilities = Capabilities(put_nowait=True, close=HAS_SHUTDOWN, events=False)
    semantics = Semantics(_ALWAYS + (_SHUTDOWN if HAS_SHUTDOWN else []))
    closed_errors: tuple[type[BaseException], ...] = (
        (asyncio.QueueShutDown,) if HAS_SHUTDOWN else ())  # type: ignore[attr-defined]
    full_errors = (asyncio.QueueFull,)
    empty_errors = (asyncio.QueueEmpty,)
    library = LibraryCode(
        imports="import asyncio",
        make="q = asyncio.Queue({max_size})",
        calls={"put": "await q.put({item})", "put_nowait": "q.put_nowait({item})",
               "get": "await q.get()", "get_nowait": "q.get_nowait()", "len": "q.qsize()",
               **({"close": "q.shutdown()"} if HAS_SHUTDOWN else {})},
        errors={"full": "asyncio.QueueFull", "empty": "asyncio.QueueEmpty",
                **({"closed": "asyncio.QueueShutDown", "end": "asyncio.QueueShutDown"}
                   if HAS_SHUTDOWN else {})},
        queue="asyncio.Queue",
        bound_wait="async with asyncio.timeout(t): {call}",
    )

    def make_queue(self, max_size: int = 100, *, overflow: str = "block",
                   event_emitter: EventEmitter | None = None) -> Any:
        """An :class:`AsyncioQueue`; ``event_emitter`` is unused (asyncio has no events)."""
        self.check_overflow(overflow)
        return AsyncioQueue(max_size)
