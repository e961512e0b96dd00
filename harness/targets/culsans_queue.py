"""``culsans``: a ``culsans.Queue``'s async side (``async_q``) as the queue.

``close()`` is ``async_q.shutdown()`` (``immediate=False``: pending items are still
delivered), culsans's documented way to end a stream (its ``close()`` exists only for
janus compatibility and means ``shutdown(immediate=True)``). ``len()`` is
``async_q.qsize()``.
"""

from __future__ import annotations

from typing import Any

from harness.contract import Declaration, Semantics
from harness.targets.async_side import AsyncSideQueue
from harness.targets.base import Adapter, Capabilities, EventEmitter, LibraryCode

__all__ = ["CulsansQueue", "CulsansTarget"]

_WHERE = "culsans/_queues/_protocols.py"
_SHUTDOWN_DOC = f"{_WHERE}, BaseQueue.shutdown docstring"


class CulsansQueue(AsyncSideQueue):
    """One ``culsans.Queue`` in the harness's queue API (its async side): each method calls
    one culsans method and returns what it returns."""

    __slots__ = ()

    def __init__(self, max_size: int) -> None:
        import culsans

        super().__init__(culsans.Queue(max_size), {"async_put": "put", "async_get": "get"})

    def close(self) -> Any:
        return self.side.shutdown()


class CulsansTarget(Adapter):
    """culsans's thread-safe async-aware queue, driven from asyncio (queue part only)."""

    name = "culsans"
    distribution = "culsans"
    parts = frozenset({"queue"})
    capabilities = Capabilities(put_nowait=True, events=False)
    semantics = Semantics([
        Declaration("queue.closed_put", "raise", where=_SHUTDOWN_DOC,
                    quote="Future calls to the put methods raise :exc:`QueueShutDown`."),
        Declaration("queue.end_of_stream", "raise", where=_SHUTDOWN_DOC,
                    quote="Once the queue is empty, the get/peek methods will also raise "
                          ":exc:`QueueShutDown`."),
        Declaration("queue.close_delivers_pending", True, where=_SHUTDOWN_DOC,
                    quote="Once the queue is empty, the get/peek methods will also raise "
                          ":exc:`QueueShutDown`."),
        Declaration("queue.close_wakes_putters", True, where=_SHUTDOWN_DOC,
                    quote="Currently blocked callers of the put methods will be unblocked "
                          "and will raise :exc:`QueueShutDown` in the formerly blocked "
                          "thread/task."),
        Declaration("queue.close_wakes_getters", True,
                    where=f"{_WHERE}, MixedQueue.async_get docstring",
                    quote="QueueShutDown: if the queue has been shut down and is empty"),
        Declaration("queue.none_item", "data",
                    where=f"{_WHERE}, MixedQueue.async_put docstring",
                    quote="Put *item* into the queue. (any object)"),
        Declaration("queue.overflow_policies", frozenset({"block"}),
                    where=f"{_WHERE}, MixedQueue.async_put docstring",
                    quote="If the queue is full, wait until a free slot is available."),
        Declaration("queue.full_put", "block",
                    where=f"{_WHERE}, MixedQueue.async_put docstring",
                    quote="If the queue is full, wait until a free slot is available."),
        Declaration("queue.validates_config", False,
                    where="culsans/_queues/_types.py, Queue.__init__",
                    quote="self._maxsize = maxsize (no check; <= 0 means unbounded)"),
        Declaration("queue.zero_size", "unbounded",
                    where=f"{_WHERE}, BaseQueue.maxsize docstring",
                    quote="if *maxsize* is <= 0, the size is infinite."),
        Declaration("queue.drop_events", False,
                    where="culsans/_queues/_types.py, Queue.__init__",
                    quote="maxsize: int = 0, *, sizer: Callable[[_T], int] | DefaultType "
                          "= DEFAULT (no event hook)"),
        Declaration("queue.blocked_events", False,
                    where="culsans/_queues/_types.py, Queue.__init__",
                    quote="maxsize: int = 0, *, sizer: Callable[[_T], int] | DefaultType "
                          "= DEFAULT (no event hook)"),
    ])
    library = LibraryCode(
        imports="import culsans",
        make="q = culsans.Queue({max_size})",
        calls={"put": "await q.async_q.put({item})",
               "put_nowait": "q.async_q.put_nowait({item})",
               "get": "await q.async_q.get()", "get_nowait": "q.async_q.get_nowait()",
               "close": "q.async_q.shutdown()", "len": "q.async_q.qsize()"},
        errors={"closed": "culsans.QueueShutDown", "end": "culsans.QueueShutDown",
                "full": "culsans.QueueFull", "empty": "culsans.QueueEmpty"},
        queue="culsans.Queue",
        bound_wait="async with asyncio.timeout(t): {call}",
    )

    def __init__(self) -> None:
        import culsans

        self.closed_errors = (culsans.QueueShutDown,)
        self.full_errors = (culsans.QueueFull,)
        self.empty_errors = (culsans.QueueEmpty,)
        super().__init__()

    def make_queue(self, max_size: int = 100, *, overflow: str = "block",
                   event_emitter: EventEmitter | None = None) -> Any:
        """A :class:`CulsansQueue`; ``event_emitter`` is unused (culsans has no events)."""
        self.check_overflow(overflow)
        return CulsansQueue(max_size)
