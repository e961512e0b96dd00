"""ChunkQueue: a bounded asyncio FIFO with an explicit overflow policy that never hangs.

Blocking vs dropping (see docs/backpressure.md for the full guide):

============  ===========================================  ==========================
policy        a put on a full queue                        use it when
============  ===========================================  ==========================
block         waits for room (``timeout=`` bounds the       every item matters and the
              wait, then ``QueueFull``)                    producer can slow down
drop_oldest   evicts the oldest item, queues the new one   freshness beats
              (``put`` returns True)                       completeness (live audio)
drop_newest   discards the new item (``put`` returns       the backlog is worth more
              False)                                       than new data
reject        raises ``QueueFull`` at once                 the producer decides itself
============  ===========================================  ==========================

Accounting contract: a put that returns hands its item to the queue, which then delivers
it or reports it in exactly one ``stream.chunk_dropped`` event (and counts it). A put that
raises leaves the item with the caller.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from time import perf_counter_ns
from typing import Any, Generic, TypeVar

from stageflow_core._checks import check_int, check_number
from stageflow_core.events import EventEmitter, make_emitter
from stageflow_core.monitor import BackpressureMonitor

__all__ = [
    "ChunkQueue",
    "OverflowPolicy",
    "QueueClosed",
    "QueueEmpty",
    "QueueFull",
    "QueueStatistics",
]

T = TypeVar("T")


class OverflowPolicy(StrEnum):
    """What a put does when the queue is full."""

    BLOCK = "block"
    """Wait for room (bounded by ``timeout=``)."""
    DROP_OLDEST = "drop_oldest"
    """Evict the oldest queued item to make room; counted and reported."""
    DROP_NEWEST = "drop_newest"
    """Discard the item being put (``put`` returns False); counted and reported."""
    REJECT = "reject"
    """Raise ``QueueFull`` at once."""


class QueueFull(asyncio.QueueFull):
    """The queue had no room for an item: the ``reject`` policy, ``put_nowait`` on a full
    blocking queue, or a ``put(timeout=)`` that expired. The item was not queued.

    ``queued`` is, for the batch calls, how many leading items of the batch were handed to
    the queue before the error (0 for single puts).
    """

    def __init__(self, message: str = "", *, queued: int = 0) -> None:
        super().__init__(message)
        self.queued = queued


class QueueEmpty(asyncio.QueueEmpty):
    """``get_nowait`` on an empty queue that is still open (more items may come)."""


class QueueClosed(Exception):
    """A put on a closed queue, or a blocked put whose queue was closed while it waited.

    The item was not queued. ``queued`` is as for :class:`QueueFull`.
    """

    def __init__(self, message: str = "", *, queued: int = 0) -> None:
        super().__init__(message)
        self.queued = queued


@dataclass(frozen=True, slots=True)
class QueueStatistics:
    """A frozen snapshot of a :class:`ChunkQueue`."""

    size: int
    """Items queued now."""
    max_size: int
    """Capacity."""
    overflow: str
    """Overflow policy (``block``, ``drop_oldest``, ``drop_newest``, ``reject``)."""
    closed: bool
    """Whether ``close()`` was called."""
    total_put: int
    """Items accepted into the queue."""
    total_got: int
    """Items handed to consumers."""
    dropped_oldest: int
    """Queued items evicted by ``drop_oldest``."""
    dropped_newest: int
    """Items discarded by ``drop_newest`` (their put returned False)."""
    rejected: int
    """Items refused with ``QueueFull`` without waiting."""
    timeouts: int
    """Puts whose ``timeout`` expired (``QueueFull`` raised)."""
    closed_refusals: int
    """Puts refused with ``QueueClosed``."""
    blocked_puts: int
    """Times a put started to wait for room."""
    total_blocked_ms: float
    """Total time puts spent waiting, in milliseconds (finished waits)."""
    peak_size: int
    """Largest size reached: the high-water mark."""
    waiting_putters: int
    """Puts waiting for room now."""
    waiting_getters: int
    """Gets waiting for an item now."""
    throttling: bool
    """Whether the fill is between crossing the high-water mark and reaching the low one."""
    throttle_starts: int
    """How many times throttling started."""
    emitter_errors: int
    """Calls to the event emitter that raised (isolated, never propagated)."""

    @property
    def dropped(self) -> int:
        """Items dropped by the overflow policy, all reasons."""
        return self.dropped_oldest + self.dropped_newest

    @property
    def dropped_by_reason(self) -> dict[str, int]:
        """``{"drop_oldest": n, "drop_newest": m}``, the ``reason`` of the drop events."""
        return {"drop_oldest": self.dropped_oldest, "drop_newest": self.dropped_newest}

    @property
    def fill_percentage(self) -> float:
        """``size / max_size`` in percent."""
        return self.size / self.max_size * 100


_NONE_ITEM = (
    "ChunkQueue items must not be None: get() returns None to mean end of stream, "
    "so a None item would end every consumer"
)
_EXPIRED: Any = object()


def _wake(waiter: asyncio.Future[Any]) -> bool:
    """Wake one waiter; False if it cannot be woken (done, or its event loop is closed)."""
    if waiter.done():
        return False
    try:
        waiter.set_result(None)
    except RuntimeError:  # its event loop is closed: nobody is waiting any more
        return False
    return True


def _wake_next(waiters: deque[asyncio.Future[Any]]) -> None:
    while waiters:
        if _wake(waiters.popleft()):
            return


def _wake_all(waiters: deque[asyncio.Future[Any]]) -> None:
    while waiters:
        _wake(waiters.popleft())


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_result(_EXPIRED)


def _throttle_sizes(max_size: int, high: float, low: float) -> tuple[int, int]:
    """Sizes at which throttling starts (``>= on``) and ends (``<= off``).

    They match ``BackpressureMonitor.record_put``: fill ``>= high`` starts, else
    ``<= low`` ends; computed with the same float expression as the fill percentage.
    """
    on = max(0, math.ceil(high * max_size / 100) - 1)
    while on > 0 and (on - 1) / max_size * 100 >= high:
        on -= 1
    while on <= max_size and on / max_size * 100 < high:
        on += 1
    off = min(on - 1, math.floor(low * max_size / 100) + 1)
    while off >= 0 and off / max_size * 100 > low:
        off -= 1
    return on, off


class ChunkQueue(Generic[T]):
    """Bounded FIFO of items (chunks) for one or more producers and consumers.

    A drop-in superset of Stageflow's ``ChunkQueue``. The overflow policy says what a put
    does when the queue is full (table in the module docstring and docs/backpressure.md):
    ``overflow="block"`` (default) waits, ``"drop_oldest"`` (also ``drop_on_overflow=True``)
    evicts, ``"drop_newest"`` discards the new item, ``"reject"`` raises ``QueueFull``.

    End of stream: ``close()`` wakes every waiting put (``QueueClosed``) and get; consumers
    receive the remaining items, then ``get()`` returns ``None`` and ``async for`` ends.
    ``None`` is therefore not a valid item.

    Use it from one event loop (like ``asyncio.Queue``, it is not thread-safe).

    Cancellation: a cancelled ``get`` loses no item; a cancelled ``put`` either queued its
    item or did not; a waiter that was woken and then cancelled passes the wake-up on.

    Examples, one per policy::

        queue = ChunkQueue(100)                            # block (default)
        await queue.put(chunk, timeout=0.5)                # QueueFull if still full at 0.5 s
        live = ChunkQueue(50, overflow="drop_oldest")      # freshest audio wins
        await live.put(chunk)                              # True; the oldest is evicted if full
        backlog = ChunkQueue(50, overflow="drop_newest")   # the backlog wins
        queued = await backlog.put(chunk)                  # False if full: this chunk dropped
        jobs = ChunkQueue(10, overflow="reject")           # the producer decides
        await jobs.put(job)                                # QueueFull at once if full

    Telemetry (``event_emitter``): ``stream.chunk_dropped``, ``stream.producer_blocked`` /
    ``stream.producer_unblocked`` / ``stream.producer_timeout``, ``stream.throttle_started``
    / ``stream.throttle_ended`` (hysteresis between ``high_water_mark`` and
    ``low_water_mark`` percent, evaluated on put and get), ``stream.queue_closed``.

    :raises TypeError: an argument has the wrong type.
    :raises ValueError: ``max_size`` < 1, unknown ``overflow``, ``drop_on_overflow=True``
        with an ``overflow`` other than ``drop_oldest``, or invalid water marks.
    """

    __slots__ = (
        "_blocks",
        "_closed",
        "_closed_refusals",
        "_dropped_newest",
        "_dropped_oldest",
        "_emit",
        "_getters",
        "_items",
        "_max_size",
        "_monitor",
        "_policy",
        "_putters",
        "_rejected",
        "_throttle_off",
        "_throttle_on",
        "_throttling",
        "_timeouts",
        "_total_got",
        "_total_put",
        "_watch",
    )

    def __init__(
        self,
        max_size: int = 100,
        *,
        drop_on_overflow: bool = False,
        overflow: OverflowPolicy | str | None = None,
        event_emitter: EventEmitter | None = None,
        high_water_mark: float = 80,
        low_water_mark: float = 20,
    ) -> None:
        check_int("max_size", max_size, minimum=1)
        if not isinstance(drop_on_overflow, bool):
            raise TypeError(
                f"drop_on_overflow must be a bool, got {type(drop_on_overflow).__name__}"
            )
        policy = _parse_policy(overflow)
        if drop_on_overflow:
            if policy is None:
                policy = OverflowPolicy.DROP_OLDEST
            elif policy is not OverflowPolicy.DROP_OLDEST:
                raise ValueError(
                    f"drop_on_overflow=True means overflow='drop_oldest', which contradicts "
                    f"overflow={policy.value!r}; pass only one of them"
                )
        self._policy = policy or OverflowPolicy.BLOCK
        self._blocks = self._policy is OverflowPolicy.BLOCK
        self._max_size = max_size
        self._emit = make_emitter(event_emitter, "ChunkQueue")
        self._monitor = BackpressureMonitor(
            high_water_mark=high_water_mark, low_water_mark=low_water_mark
        )
        self._monitor._sync = self._sync_monitor
        self._throttle_on, self._throttle_off = _throttle_sizes(
            max_size, self._monitor.high_water_mark, self._monitor.low_water_mark
        )
        self._throttling = False
        # A put that makes the size exceed _watch sets a new high-water mark or starts
        # throttling (see _rise); one comparison on the hot path covers both.
        self._watch = min(0, self._throttle_on - 1)
        self._items: deque[T] = deque()
        self._getters: deque[asyncio.Future[Any]] = deque()
        self._putters: deque[asyncio.Future[Any]] = deque()
        self._closed = False
        self._total_put = 0
        self._total_got = 0
        self._dropped_oldest = 0
        self._dropped_newest = 0
        self._rejected = 0
        self._timeouts = 0
        self._closed_refusals = 0

    # -- properties -------------------------------------------------------------------

    @property
    def max_size(self) -> int:
        """Capacity in items."""
        return self._max_size

    @property
    def overflow(self) -> OverflowPolicy:
        """The overflow policy."""
        return self._policy

    @property
    def monitor(self) -> BackpressureMonitor:
        """The queue's backpressure monitor (kept up to date on every put and get)."""
        return self._monitor

    @property
    def is_closed(self) -> bool:
        """Whether ``close()`` was called (items may remain to be drained)."""
        return self._closed

    def __len__(self) -> int:
        """Items queued now."""
        return len(self._items)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<ChunkQueue size={len(self._items)}/{self._max_size} "
            f"overflow={self._policy.value} {state}>"
        )

    def _sync_monitor(self) -> None:
        monitor = self._monitor
        monitor._total_items = self._total_put
        monitor._fill_pct = len(self._items) / self._max_size * 100

    # -- put --------------------------------------------------------------------------

    def put_nowait(self, item: T) -> bool:
        """Queue ``item`` without waiting.

        :returns: True if queued, False if dropped by ``drop_newest``.
        :raises TypeError: ``item`` is None (the end-of-stream marker).
        :raises QueueClosed: the queue is closed.
        :raises QueueFull: full under the ``block`` or ``reject`` policy.
        """
        if item is None:
            raise TypeError(_NONE_ITEM)
        if self._closed:
            self._closed_refusals += 1
            raise QueueClosed("put on a closed ChunkQueue")
        items = self._items
        if len(items) >= self._max_size and not self._make_room(item):
            return False
        items.append(item)
        self._total_put += 1
        if len(items) > self._watch:
            self._rise(len(items))
        if self._getters:
            _wake_next(self._getters)
        return True

    def _make_room(self, item: T) -> bool:
        """Apply the overflow policy to a full queue: True if there is now room for ``item``."""
        size = len(self._items)
        if self._policy is OverflowPolicy.DROP_OLDEST:
            self._dropped_oldest += 1
            self._report_drop(self._items.popleft(), "drop_oldest", size)
            return True
        if self._policy is OverflowPolicy.DROP_NEWEST:
            self._dropped_newest += 1
            self._report_drop(item, "drop_newest", size)
            return False
        self._rejected += 1
        raise QueueFull(
            f"ChunkQueue is full ({self._max_size} items) and its overflow policy is "
            f"{self._policy.value!r}"
        )

    async def put(self, item: T, *, timeout: float | None = None) -> bool:
        """Queue ``item``; under the ``block`` policy wait for room while the queue is full.

        :param timeout: seconds to wait at most (None: no limit; 0: do not wait).
        :returns: True if queued, False if dropped by ``drop_newest``.
        :raises TypeError: ``item`` is None.
        :raises ValueError: ``timeout`` is negative or NaN.
        :raises QueueFull: the timeout expired, or full under ``reject``.
        :raises QueueClosed: the queue is closed, also while this put waited.
        """
        if timeout is not None:
            timeout = check_number("timeout", timeout, allow_inf=True)
        if len(self._items) >= self._max_size and self._blocks and not self._closed:
            if item is None:
                raise TypeError(_NONE_ITEM)
            loop = asyncio.get_running_loop()
            await self._wait_for_room(loop, _deadline(loop, timeout), timeout, 0)
        return self.put_nowait(item)

    def put_many_nowait(self, items: Iterable[T]) -> int:
        """Queue ``items`` in order without waiting, as consecutive ``put_nowait`` calls.

        :returns: how many were queued (fewer than given only under ``drop_newest``).
        :raises TypeError: an item is None (checked before any is queued).
        :raises QueueClosed: the queue is closed.
        :raises QueueFull: under ``block``/``reject`` not all fit; ``exc.queued`` leading
            items were queued, the rest were not.
        """
        batch = _as_batch(items)
        before = self._total_put
        index = self._put_batch(batch, 0)
        if index < len(batch):
            raise self._refuse_rest(batch, index)
        return self._total_put - before

    def _refuse_rest(self, batch: Sequence[T], index: int) -> QueueFull:
        self._rejected += len(batch) - index
        return QueueFull(
            f"ChunkQueue is full ({self._max_size} items) and its overflow policy is "
            f"{self._policy.value!r}: queued {index} of {len(batch)} items",
            queued=index,
        )

    async def put_many(self, items: Iterable[T], *, timeout: float | None = None) -> int:
        """Queue ``items`` in order, waiting for room as needed under ``block``.

        The call is not atomic: consumers may receive the first items before the last are
        queued. ``timeout`` bounds the whole call.

        :returns: how many were queued (fewer than given only under ``drop_newest``).
        :raises TypeError: an item is None (checked before any is queued).
        :raises QueueFull: the timeout expired, or ``reject`` and not all fit.
        :raises QueueClosed: the queue was closed.
            With both, ``exc.queued`` leading items were queued and the rest were not.
        """
        if timeout is not None:
            timeout = check_number("timeout", timeout, allow_inf=True)
        batch = _as_batch(items)
        before = self._total_put
        index = self._put_batch(batch, 0)
        if index < len(batch):
            if not self._blocks:
                raise self._refuse_rest(batch, index)
            loop = asyncio.get_running_loop()
            deadline = _deadline(loop, timeout)
            while index < len(batch):
                await self._wait_for_room(loop, deadline, timeout, index)
                index = self._put_batch(batch, index)
        return self._total_put - before

    def _put_batch(self, batch: Sequence[T], start: int) -> int:
        """Queue ``batch[start:]`` while it fits; return the index of the first item not
        handed over (``len(batch)`` when done). Drop policies hand over every item."""
        if self._closed:
            self._closed_refusals += 1
            raise QueueClosed(
                f"put on a closed ChunkQueue: queued {start} of {len(batch)} items",
                queued=start,
            )
        items = self._items
        end = len(batch)
        room = self._max_size - len(items)
        if room >= end - start:
            items.extend(batch[start:] if start else batch)
            self._total_put += end - start
        elif self._blocks or self._policy is OverflowPolicy.REJECT:
            end = start + room
            items.extend(batch[start:end])
            self._total_put += room
        else:
            for item in islice(batch, start, None):
                if len(items) < self._max_size or self._make_room(item):
                    items.append(item)
                    self._total_put += 1
        if len(items) > self._watch:
            self._rise(len(items))
        getters = self._getters
        for _ in range(min(len(items), len(getters))):
            _wake_next(getters)
        return end

    async def _wait_for_room(
        self,
        loop: asyncio.AbstractEventLoop,
        deadline: float | None,
        timeout: float | None,
        queued: int,
    ) -> None:
        """One blocking episode: return once the queue has room or is closed.

        :raises QueueFull: the deadline passed first (``queued`` attached).
        """
        if deadline is not None and loop.time() >= deadline:
            raise self._timed_out(timeout, queued)
        monitor = self._monitor
        monitor._blocked_puts += 1
        emit = self._emit
        if emit is not None:
            emit.emit(
                "stream.producer_blocked",
                {"queue_size": len(self._items), "max_size": self._max_size, "timeout_s": timeout},
            )
        started = perf_counter_ns()
        outcome = "cancelled"
        try:
            while not self._closed and len(self._items) >= self._max_size:
                putter = loop.create_future()
                self._putters.append(putter)
                timer = None if deadline is None else loop.call_at(deadline, _expire, putter)
                try:
                    woken = await putter
                except BaseException:
                    putter.cancel()  # in case it is not done yet
                    with suppress(ValueError):
                        self._putters.remove(putter)
                    if (
                        not putter.cancelled()
                        and putter.result() is None
                        and len(self._items) < self._max_size
                    ):
                        # We were woken but cannot take the room: wake the next producer.
                        _wake_next(self._putters)
                    raise
                finally:
                    if timer is not None:
                        timer.cancel()
                if woken is _EXPIRED:
                    with suppress(ValueError):
                        self._putters.remove(putter)
                    outcome = "timeout"
                    raise self._timed_out(timeout, queued)
            outcome = "closed" if self._closed else "room"
        finally:
            blocked_ms = (perf_counter_ns() - started) / 1e6
            monitor._total_blocked_ms += blocked_ms
            if emit is not None:
                emit.emit(
                    "stream.producer_unblocked",
                    {"blocked_ms": blocked_ms, "outcome": outcome, "queue_size": len(self._items)},
                )

    def _timed_out(self, timeout: float | None, queued: int) -> QueueFull:
        self._timeouts += 1
        if self._emit is not None:
            self._emit.emit(
                "stream.producer_timeout",
                {"timeout_s": timeout, "queue_size": len(self._items), "max_size": self._max_size},
            )
        return QueueFull(
            f"put timed out after {timeout:g} s: ChunkQueue still full ({self._max_size} items)",
            queued=queued,
        )

    # -- get --------------------------------------------------------------------------

    def get_nowait(self) -> T | None:
        """Take the oldest item without waiting.

        :returns: the item, or None if the queue is closed and drained.
        :raises QueueEmpty: the queue is empty and still open.
        """
        items = self._items
        if items:
            item = items.popleft()
            self._total_got += 1
            if self._putters:
                _wake_next(self._putters)
            if self._throttling and len(items) <= self._throttle_off:
                self._set_throttling(False, len(items))
            return item
        if self._closed:
            return None
        raise QueueEmpty("ChunkQueue is empty")

    async def get(self) -> T | None:
        """Take the oldest item, waiting while the queue is empty and open.

        :returns: the item, or None once the queue is closed and drained.
        """
        if not self._items and not self._closed:
            await self._wait_for_item()
        return self.get_nowait()

    def get_many_nowait(self, max_items: int) -> list[T]:
        """Take up to ``max_items`` of the oldest items without waiting.

        :returns: 1..max_items items; ``[]`` if the queue is closed and drained.
        :raises QueueEmpty: the queue is empty and still open.
        :raises ValueError: ``max_items`` < 1.
        """
        check_int("max_items", max_items, minimum=1)
        items = self._items
        if not items:
            if self._closed:
                return []
            raise QueueEmpty("ChunkQueue is empty")
        if max_items >= len(items):
            out = list(items)
            items.clear()
        else:
            popleft = items.popleft
            out = [popleft() for _ in range(max_items)]
        taken = len(out)
        self._total_got += taken
        putters = self._putters
        for _ in range(min(taken, len(putters))):
            _wake_next(putters)
        if self._throttling and len(items) <= self._throttle_off:
            self._set_throttling(False, len(items))
        return out

    async def get_many(self, max_items: int) -> list[T]:
        """Wait for at least one item, then take up to ``max_items`` of the oldest.

        :returns: 1..max_items items; ``[]`` once the queue is closed and drained.
        :raises ValueError: ``max_items`` < 1.
        """
        check_int("max_items", max_items, minimum=1)
        if not self._items and not self._closed:
            await self._wait_for_item()
        return self.get_many_nowait(max_items)

    async def _wait_for_item(self) -> None:
        """Park until the queue holds an item or is closed."""
        loop = asyncio.get_running_loop()
        while not self._items and not self._closed:
            getter = loop.create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()  # in case it is not done yet
                with suppress(ValueError):
                    self._getters.remove(getter)
                if not getter.cancelled() and self._items:
                    # We were woken but cannot take the item: wake the next consumer.
                    _wake_next(self._getters)
                raise

    def __aiter__(self) -> AsyncIterator[T]:
        """Iterate over items until the queue is closed and drained."""
        return self

    async def __anext__(self) -> T:
        item = await self.get()
        if item is None:
            raise StopAsyncIteration
        return item

    # -- close ------------------------------------------------------------------------

    def close_nowait(self) -> None:
        """Close the queue (idempotent): refuse new puts and wake every waiter.

        Waiting puts raise ``QueueClosed``; waiting and future gets receive the remaining
        items, then None.
        """
        if self._closed:
            return
        self._closed = True
        _wake_all(self._putters)
        _wake_all(self._getters)
        if self._emit is not None:
            stats = self._monitor.stats
            self._emit.emit(
                "stream.queue_closed",
                {
                    "total_items": stats.total_items,
                    "dropped_items": stats.dropped_items,
                    "blocked_puts": stats.blocked_puts,
                    "max_queue_size": stats.max_queue_size,
                    "total_blocked_ms": stats.total_blocked_ms,
                    "total_got": self._total_got,
                    "remaining": len(self._items),
                    "timeouts": self._timeouts,
                    "rejected": self._rejected,
                },
            )

    async def close(self) -> None:
        """Close the queue; see :meth:`close_nowait`."""
        self.close_nowait()

    # -- accounting -------------------------------------------------------------------

    def statistics(self) -> QueueStatistics:
        """A frozen snapshot of the queue's state and counters."""
        monitor = self._monitor
        return QueueStatistics(
            size=len(self._items),
            max_size=self._max_size,
            overflow=self._policy.value,
            closed=self._closed,
            total_put=self._total_put,
            total_got=self._total_got,
            dropped_oldest=self._dropped_oldest,
            dropped_newest=self._dropped_newest,
            rejected=self._rejected,
            timeouts=self._timeouts,
            closed_refusals=self._closed_refusals,
            blocked_puts=monitor._blocked_puts,
            total_blocked_ms=monitor._total_blocked_ms,
            peak_size=monitor._max_queue_size,
            waiting_putters=sum(1 for w in self._putters if not w.done()),
            waiting_getters=sum(1 for w in self._getters if not w.done()),
            throttling=self._throttling,
            throttle_starts=monitor._throttle_starts,
            emitter_errors=0 if self._emit is None else self._emit.errors,
        )

    def _rise(self, size: int) -> None:
        """The size exceeded ``_watch``: record a new high-water mark, start throttling."""
        monitor = self._monitor
        if size > monitor._max_queue_size:
            monitor._max_queue_size = size
        if size >= self._throttle_on and not self._throttling:
            self._set_throttling(True, size)
        else:
            self._watch = self._watch_level()

    def _watch_level(self) -> int:
        peak = self._monitor._max_queue_size
        return peak if self._throttling else min(peak, self._throttle_on - 1)

    def _set_throttling(self, on: bool, size: int) -> None:
        self._throttling = on
        monitor = self._monitor
        monitor._throttling = on
        if on:
            monitor._throttle_starts += 1
        self._watch = self._watch_level()
        if self._emit is not None:
            self._emit.emit(
                "stream.throttle_started" if on else "stream.throttle_ended",
                {"fill_percentage": size / self._max_size * 100, "queue_size": size},
            )

    def _report_drop(self, item: T, reason: str, size: int) -> None:
        self._monitor._dropped_items += 1
        if self._emit is None:
            return
        payload: dict[str, Any] = {"reason": reason, "queue_size": size, "max_size": self._max_size}
        try:
            sequence = item.sequence  # type: ignore[attr-defined]
        except Exception:
            sequence = None
        if sequence is not None:
            payload["sequence"] = sequence
        self._emit.emit("stream.chunk_dropped", payload)


def _parse_policy(overflow: object) -> OverflowPolicy | None:
    if overflow is None:
        return None
    if not isinstance(overflow, str):
        raise TypeError(f"overflow must be a str, got {type(overflow).__name__}")
    try:
        return OverflowPolicy(overflow)
    except ValueError:
        known = ", ".join(repr(p.value) for p in OverflowPolicy)
        raise ValueError(f"overflow must be one of {known}, got {overflow!r}") from None


def _deadline(loop: asyncio.AbstractEventLoop, timeout: float | None) -> float | None:
    if timeout is None or timeout == math.inf:
        return None
    return loop.time() + timeout


def _as_batch(items: Iterable[T]) -> Sequence[T]:
    batch = items if isinstance(items, list | tuple) else list(items)
    for item in batch:
        if item is None:
            raise TypeError(_NONE_ITEM)
    return batch
