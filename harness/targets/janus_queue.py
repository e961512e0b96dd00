"""``janus``: a ``janus.Queue``'s async side (``async_q``) as the queue.

``close()`` is ``Queue.shutdown()`` (``immediate=False``: pending items are still
delivered), the operation janus documents for ending a stream; janus's own ``close()`` is
``shutdown(immediate=True)``, which discards what is queued. ``len()`` is
``async_q.qsize()``.
"""

from __future__ import annotations

from typing import Any

from harness.contract import Declaration, Semantics
from harness.targets.async_side import AsyncSideQueue
from harness.targets.base import Adapter, Capabilities, EventEmitter, LibraryCode

__all__ = ["JanusQueue", "JanusTarget"]

_WHERE = "janus/__init__.py"
_SHUTDOWN_DOC = f"{_WHERE}, Queue.shutdown docstring"


class JanusQueue(AsyncSideQueue):
    """One ``janus.Queue`` in the harness's queue API (its async side): each method calls
    one janus method and returns what it returns."""

    __slots__ = ()

    def __init__(self, max_size: int) -> None:
        import janus

        super().__init__(janus.Queue(max_size))

    def close(self) -> Any:
        return self.native.shutdown()


class JanusTarget(Adapter):
    """janus's mixed sync/async queue, driven from asyncio (queue part only)."""

    name = "janus"
    distribution = "janus"
    parts = frozenset({"queue"})
    capabilities = Capabilities(put_nowait=True, events=False)
    semantics = Semantics([
        Declaration("queue.closed_put", "raise", where=_SHUTDOWN_DOC,
                    quote="Shut-down the queue, making queue gets and puts raise an "
                          "exception."),
        Declaration("queue.end_of_stream", "raise", where=_SHUTDOWN_DOC,
                    quote="By default, gets will only raise once the queue is empty."),
        Declaration("queue.close_delivers_pending", True, where=_SHUTDOWN_DOC,
                    quote="By default, gets will only raise once the queue is empty."),
        Declaration("queue.close_wakes_getters", True, where=_SHUTDOWN_DOC,
                    quote="All blocked callers of put() and get() will be unblocked."),
        Declaration("queue.close_wakes_putters", True, where=_SHUTDOWN_DOC,
                    quote="All blocked callers of put() and get() will be unblocked."),
        Declaration("queue.none_item", "data",
                    where=f"{_WHERE}, _AsyncQueueProxy.put docstring",
                    quote="Put an item into the queue. (any object)"),
        Declaration("queue.overflow_policies", frozenset({"block"}),
                    where=f"{_WHERE}, _AsyncQueueProxy.put docstring",
                    quote="If the queue is full, wait until a free slot is available before "
                          "adding item."),
        Declaration("queue.full_put", "block",
                    where=f"{_WHERE}, _AsyncQueueProxy.put docstring",
                    quote="If the queue is full, wait until a free slot is available before "
                          "adding item."),
        Declaration("queue.validates_config", False,
                    where=f"{_WHERE}, _AsyncQueueProxy docstring",
                    quote="If maxsize is <= 0, the queue size is infinite."),
        Declaration("queue.zero_size", "unbounded",
                    where=f"{_WHERE}, _AsyncQueueProxy docstring",
                    quote="If maxsize is <= 0, the queue size is infinite."),
        Declaration("queue.drop_events", False, where=f"{_WHERE}, Queue.__init__",
                    quote="def __init__(self, maxsize: int = 0) (no event hook)"),
        Declaration("queue.blocked_events", False, where=f"{_WHERE}, Queue.__init__",
                    quote="def __init__(self, maxsize: int = 0) (no event hook)"),
    ])
    library = LibraryCode(
        imports="import janus",
        make="q = janus.Queue({max_size})",
        calls={"put": "await q.async_q.put({item})",
               "put_nowait": "q.async_q.put_nowait({item})",
               "get": "await q.async_q.get()", "get_nowait": "q.async_q.get_nowait()",
               "close": "q.shutdown()", "len": "q.async_q.qsize()"},
        errors={"closed": "janus.AsyncQueueShutDown", "end": "janus.AsyncQueueShutDown",
                "full": "janus.AsyncQueueFull", "empty": "janus.AsyncQueueEmpty"},
        queue="janus.Queue",
        bound_wait="async with asyncio.timeout(t): {call}",
    )

    def __init__(self) -> None:
        import janus

        self.closed_errors = (janus.AsyncQueueShutDown,)
        self.full_errors = (janus.AsyncQueueFull,)
        self.empty_errors = (janus.AsyncQueueEmpty,)
        super().__init__()

    def make_queue(self, max_size: int = 100, *, overflow: str = "block",
                   event_emitter: EventEmitter | None = None) -> Any:
        """A :class:`JanusQueue`; ``event_emitter`` is unused (janus has no events)."""
        self.check_overflow(overflow)
        return JanusQueue(max_size)
