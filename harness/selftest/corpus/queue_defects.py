"""Seeded queue defects: each a small subclass of a clean queue that breaks one clause.

Every member is modelled on a kind of defect found in real asyncio queue libraries (named
in its :class:`~harness.selftest.corpus._base.Breaks`), declares the same semantics as the
clean queue it derives from, and differs from it only in the overridden lines.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from harness.selftest.corpus._base import Breaks, CorpusTarget, derived_target
from harness.selftest.corpus.clean import (
    DROP_NEWEST_SEMANTICS,
    OURS,
    STDLIB_SEMANTICS,
    DropNewestQueue,
    StdlibQueue,
    drop_newest_queue,
    stdlib_queue,
)
from harness.targets import ModuleTarget
from stageflow_core import ChunkQueue, QueueEmpty, QueueFull
from stageflow_core.queue import _wake_all, _wake_next

__all__ = [
    "cancelled_get_loses_item",
    "cancelled_put_delivered",
    "close_forgets_putters",
    "close_wakes_one_getter",
    "closed_full_put_wrong_error",
    "closed_put_accepted",
    "drop_newest_claims_queued",
    "drop_oldest_without_event",
    "duplicate_delivery",
    "end_of_stream_raises",
    "fifo_swap",
    "len_forgets_drops",
    "lost_wakeup",
    "put_timeout_ignored",
    "queue_bound_off_by_one",
    "second_close_raises",
]

_PUTS_CLOSED = ("put (closed queue)", "put_nowait (closed queue)", "put(timeout) (closed queue)")


def _ours(name: str, queue_cls: type, breaks: Breaks) -> ModuleTarget:
    return derived_target(f"selftest:{name}", semantics=OURS, breaks=breaks,
                          ChunkQueue=queue_cls)


# --- close -------------------------------------------------------------------------------

class CloseWakesOneGetter(ChunkQueue):
    def close_nowait(self) -> None:
        if self._closed:
            return
        self._closed = True
        _wake_all(self._putters)
        _wake_next(self._getters)  # the defect: one consumer of N is woken


def close_wakes_one_getter() -> ModuleTarget:
    return _ours("close_wakes_one_getter", CloseWakesOneGetter, Breaks(
        "queue.close_wakes_getters", "ChunkQueue", "no_hang", ("close (blocked consumer)",),
        "close() wakes one of N waiting consumers; the others hang"))


class SecondCloseRaises(ChunkQueue):
    def close_nowait(self) -> None:
        if self._closed:  # the defect: close() is not idempotent
            raise RuntimeError("ChunkQueue is already closed")
        super().close_nowait()


def second_close_raises() -> ModuleTarget:
    return _ours("second_close_raises", SecondCloseRaises, Breaks(
        "queue.close_idempotent", "ChunkQueue", "unexpected_error", ("close",),
        "a second close() raises InvalidStateError (aiochannel)"))


class ClosedPutAccepted(ChunkQueue):
    def put_nowait(self, item: Any) -> bool:
        if self._closed:  # the defect: a put on a closed queue is silently accepted
            self._items.append(item)
            return True
        return super().put_nowait(item)


def closed_put_accepted() -> ModuleTarget:
    return _ours("closed_put_accepted", ClosedPutAccepted, Breaks(
        "queue.closed_put", "ChunkQueue", "outcome", _PUTS_CLOSED,
        "put on a closed queue silently accepted, the item never read"))


class ClosedFullPutWrongError(ChunkQueue):
    def put_nowait(self, item: Any) -> bool:
        if self._closed and len(self._items) >= self._max_size:  # the defect
            raise QueueFull("ChunkQueue is full")
        return super().put_nowait(item)


def closed_full_put_wrong_error() -> ModuleTarget:
    return _ours("closed_full_put_wrong_error", ClosedFullPutWrongError, Breaks(
        "queue.closed_put", "ChunkQueue", "outcome", _PUTS_CLOSED,
        "a full closed channel raises ChannelFull, not ChannelClosed (aiochannel)"))


class EndOfStreamRaises(ChunkQueue):
    def get_nowait(self) -> Any:
        if self._closed and not self._items:  # the defect: no end-of-stream marker
            raise QueueEmpty("ChunkQueue is empty")
        return super().get_nowait()


def end_of_stream_raises() -> ModuleTarget:
    return _ours("end_of_stream_raises", EndOfStreamRaises, Breaks(
        "queue.end_of_stream", "ChunkQueue", "end_of_stream", (),
        "get() on a closed, drained queue raises instead of returning the end marker"))


class StdlibCloseForgetsPutters(StdlibQueue):
    def close(self) -> None:
        self._closed = True
        for task in list(self._waiting):
            if task not in self._woken and not _waits_to_put(task):  # the defect
                self._woken.add(task)
                task.cancel()


def _waits_to_put(task: asyncio.Task[Any]) -> bool:
    coro = task.get_coro()
    frame = getattr(coro, "cr_frame", None)
    while coro is not None:
        frame = getattr(coro, "cr_frame", None)
        if frame is not None and frame.f_code.co_name in ("put",):
            return True
        coro = getattr(coro, "cr_await", None)
    return False


def close_forgets_putters() -> CorpusTarget:
    target = stdlib_queue()
    target.name = "selftest:close_forgets_putters"
    target._queue_cls = StdlibCloseForgetsPutters
    target.breaks = Breaks(
        "queue.close_wakes_putters", "ChunkQueue", "no_hang", ("close (blocked producer)",),
        "close() leaves producers blocked in put() waiting for ever")
    target.semantics = STDLIB_SEMANTICS
    return target


# --- wake-ups and cancellation ------------------------------------------------------------

class LostWakeup(ChunkQueue):
    def put_nowait(self, item: Any) -> bool:
        getters = self._getters
        self._getters = deque()  # the defect: the waiting consumer is not woken
        try:
            return super().put_nowait(item)
        finally:
            getters.extend(self._getters)
            self._getters = getters


def lost_wakeup() -> ModuleTarget:
    return _ours("lost_wakeup", LostWakeup, Breaks(
        "a get waiting on an empty queue is woken by the next put", "ChunkQueue", "no_hang",
        ("put (blocked consumer)", "put_nowait (blocked consumer)",
         "put(timeout) (blocked consumer)"),
        "lost wake-up: a put does not wake the consumer waiting for it"))


class CancelledGetLosesItem(ChunkQueue):
    async def get(self) -> Any:
        if not self._items and not self._closed:
            try:
                await self._wait_for_item()
            except asyncio.CancelledError:
                if self._items:  # the defect: the item meant for this get is discarded
                    self._items.popleft()
                raise
        return self.get_nowait()


def cancelled_get_loses_item() -> ModuleTarget:
    return _ours("cancelled_get_loses_item", CancelledGetLosesItem, Breaks(
        "a cancelled get neither loses nor duplicates an item", "ChunkQueue", "no_loss",
        ("cancel (blocked get)", "cancel (blocked anext)"),
        "a get cancelled after it was woken loses the item it was handed"))


class CancelledPutDelivered(ChunkQueue):
    async def put(self, item: Any, *, timeout: float | None = None) -> bool:
        try:
            return await super().put(item, timeout=timeout)
        except asyncio.CancelledError:
            if not self._closed:  # the defect: the item is handed over although cancelled
                self._items.append(item)
                _wake_next(self._getters)
            raise


def cancelled_put_delivered() -> ModuleTarget:
    return _ours("cancelled_put_delivered", CancelledPutDelivered, Breaks(
        "a cancelled put delivers nothing", "ChunkQueue", "outcome", ("cancel (blocked put)",),
        "a cancelled send() whose item is delivered anyway (anyio memory streams)"))


class PutTimeoutIgnored(ChunkQueue):
    async def put(self, item: Any, *, timeout: float | None = None) -> bool:
        return await super().put(item)  # the defect: the timeout is accepted and ignored


def put_timeout_ignored() -> ModuleTarget:
    return _ours("put_timeout_ignored", PutTimeoutIgnored, Breaks(
        "put(timeout=t) ends by t", "ChunkQueue", "put_timeout", (),
        "a timeout parameter that a blocked put never honours"))


# --- bounds, order, accounting, events ------------------------------------------------------

class QueueBoundOffByOne(ChunkQueue):
    def __init__(self, max_size: int = 100, **kwargs: Any) -> None:
        super().__init__(max_size, **kwargs)
        self._max_size = max_size + 1  # the defect: the bound is compared with >, not >=


def queue_bound_off_by_one() -> ModuleTarget:
    return _ours("queue_bound_off_by_one", QueueBoundOffByOne, Breaks(
        "the queue never holds more than max_size items", "ChunkQueue", "bounds", (),
        "off-by-one bound: a full queue accepts one more item"))


class FifoSwap(ChunkQueue):
    def get_nowait(self) -> Any:
        items = self._items
        if len(items) >= 3 and self._total_got % 5 == 4:  # the defect: a swap under load
            items[0], items[1] = items[1], items[0]
        return super().get_nowait()


def fifo_swap() -> ModuleTarget:
    return _ours("fifo_swap", FifoSwap, Breaks(
        "per-producer FIFO by dequeue order", "ChunkQueue", "fifo", (),
        "two items swapped when several are queued"))


class DuplicateDelivery(ChunkQueue):
    def get_nowait(self) -> Any:
        items = self._items
        if len(items) >= 2 and self._total_got % 7 == 6:  # the defect: read without removal
            self._total_got += 1
            return items[0]
        return super().get_nowait()


def duplicate_delivery() -> ModuleTarget:
    return _ours("duplicate_delivery", DuplicateDelivery, Breaks(
        "each item is delivered once", "ChunkQueue", "fifo", (),
        "an item delivered twice when several are queued"))


class LenForgetsDrops(ChunkQueue):
    def __len__(self) -> int:
        return self._total_put - self._total_got  # the defect: evictions not subtracted


def len_forgets_drops() -> ModuleTarget:
    return _ours("len_forgets_drops", LenForgetsDrops, Breaks(
        "len(queue) is the number of items held", "ChunkQueue", "level", (),
        "size counter not decremented when the overflow policy evicts an item"))


class DropOldestWithoutEvent(ChunkQueue):
    def _report_drop(self, item: Any, reason: str, size: int) -> None:
        if reason == "drop_oldest":  # the defect: counted, never announced
            self._monitor._dropped_items += 1
            return
        super()._report_drop(item, reason, size)


def drop_oldest_without_event() -> ModuleTarget:
    return _ours("drop_oldest_without_event", DropOldestWithoutEvent, Breaks(
        "queue.drop_events", "ChunkQueue", "no_silent_drop", (),
        "an evicted item with no stream.chunk_dropped event"))


class DropNewestClaimsQueued(DropNewestQueue):
    def put_nowait(self, item: Any) -> bool:
        if not self._closed and len(self._items) >= self._max_size:
            return True  # the defect: the dropped item is reported as queued, no event
        return super().put_nowait(item)


def drop_newest_claims_queued() -> CorpusTarget:
    target = drop_newest_queue()
    target.name = "selftest:drop_newest_claims_queued"
    target._queue_cls = DropNewestClaimsQueued
    target.semantics = DROP_NEWEST_SEMANTICS
    target.breaks = Breaks(
        "an accepted item is delivered or reported dropped", "ChunkQueue", "no_loss", (),
        "a full queue that drops the new item but returns success")
    return target


