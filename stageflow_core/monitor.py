"""Backpressure accounting: how full a queue runs, what it dropped, how long producers waited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stageflow_core._checks import check_int, check_number

__all__ = ["BackpressureMonitor", "BackpressureStats", "MonitorStatistics"]


@dataclass
class BackpressureStats:
    """The reference's counters, as a plain dataclass (see ``BackpressureMonitor.stats``).

    Attributes:
        total_items: Items accepted (queued).
        dropped_items: Items dropped by an overflow policy.
        blocked_puts: Puts that had to wait for room.
        max_queue_size: Largest queue size observed (high-water mark).
        total_blocked_ms: Total time producers spent waiting.
    """

    total_items: int = 0
    dropped_items: int = 0
    blocked_puts: int = 0
    max_queue_size: int = 0
    total_blocked_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The counters plus ``drop_rate`` (dropped / max(total, 1))."""
        return {
            "total_items": self.total_items,
            "dropped_items": self.dropped_items,
            "blocked_puts": self.blocked_puts,
            "max_queue_size": self.max_queue_size,
            "total_blocked_ms": self.total_blocked_ms,
            "drop_rate": self.dropped_items / max(self.total_items, 1),
        }


@dataclass(frozen=True, slots=True)
class MonitorStatistics:
    """A frozen snapshot of a :class:`BackpressureMonitor`."""

    total_items: int
    """Items accepted (queued)."""
    dropped_items: int
    """Items dropped by an overflow policy."""
    blocked_puts: int
    """Puts that had to wait for room (counted when the wait starts)."""
    max_queue_size: int
    """Largest queue size observed: the high-water mark."""
    total_blocked_ms: float
    """Total time producers spent waiting, in milliseconds (finished waits)."""
    fill_percentage: float
    """Current fill, 0-100."""
    throttling: bool
    """Whether the fill crossed the high-water mark and has not yet fallen to the low one."""
    throttle_starts: int
    """How many times throttling started."""
    high_water_mark: float
    """Fill percentage at which throttling starts."""
    low_water_mark: float
    """Fill percentage at which throttling ends."""

    @property
    def drop_rate(self) -> float:
        """``dropped_items / max(total_items, 1)``, as the reference computes it."""
        return self.dropped_items / max(self.total_items, 1)


class BackpressureMonitor:
    """Counts puts, drops and waits, and decides throttling with hysteresis.

    Throttling starts when the fill reaches ``high_water_mark`` percent and ends when it
    falls to ``low_water_mark`` percent or below. Used on its own through the ``record_*``
    methods, or owned by a ``ChunkQueue``, which keeps it up to date on every put and get
    (then ``fill_percentage`` is the queue's current fill, and the ``record_*`` methods,
    meant for standalone use, must not be called on it).

    :raises ValueError: marks outside ``0 <= low_water_mark <= high_water_mark <= 100``.
    """

    __slots__ = (
        "_blocked_puts",
        "_dropped_items",
        "_fill_pct",
        "_high_water",
        "_low_water",
        "_max_queue_size",
        "_sync",
        "_throttle_starts",
        "_throttling",
        "_total_blocked_ms",
        "_total_items",
    )

    def __init__(self, *, high_water_mark: float = 80, low_water_mark: float = 20) -> None:
        high = check_number("high_water_mark", high_water_mark, maximum=100.0)
        low = check_number("low_water_mark", low_water_mark, maximum=100.0)
        if low > high:
            raise ValueError(
                f"low_water_mark ({low:g}) must be <= high_water_mark ({high:g})"
            )
        self._high_water = high
        self._low_water = low
        # Plain counters, updated inline by ChunkQueue; derived values are computed on read.
        self._total_items = 0
        self._dropped_items = 0
        self._blocked_puts = 0
        self._max_queue_size = 0
        self._total_blocked_ms = 0.0
        self._throttling = False
        self._throttle_starts = 0
        self._fill_pct = 0.0
        # Set by an owning ChunkQueue: refreshes the counters it keeps itself.
        self._sync: Callable[[], None] | None = None

    @property
    def high_water_mark(self) -> float:
        """Fill percentage at which throttling starts."""
        return self._high_water

    @property
    def low_water_mark(self) -> float:
        """Fill percentage at which throttling ends."""
        return self._low_water

    @property
    def stats(self) -> BackpressureStats:
        """The counters in the reference's shape (a new object on every call)."""
        if self._sync is not None:
            self._sync()
        return BackpressureStats(
            total_items=self._total_items,
            dropped_items=self._dropped_items,
            blocked_puts=self._blocked_puts,
            max_queue_size=self._max_queue_size,
            total_blocked_ms=self._total_blocked_ms,
        )

    def statistics(self) -> MonitorStatistics:
        """A frozen snapshot of every counter and the throttle state."""
        if self._sync is not None:
            self._sync()
        return MonitorStatistics(
            total_items=self._total_items,
            dropped_items=self._dropped_items,
            blocked_puts=self._blocked_puts,
            max_queue_size=self._max_queue_size,
            total_blocked_ms=self._total_blocked_ms,
            fill_percentage=self.fill_percentage,
            throttling=self._throttling,
            throttle_starts=self._throttle_starts,
            high_water_mark=self._high_water,
            low_water_mark=self._low_water,
        )

    def record_put(self, queue_size: int, max_size: int = 100) -> None:
        """Record an accepted item; the queue now holds ``queue_size`` of ``max_size``.

        :raises ValueError: ``queue_size`` < 0 or ``max_size`` < 1.
        """
        check_int("queue_size", queue_size, minimum=0)
        check_int("max_size", max_size, minimum=1)
        self._total_items += 1
        if queue_size > self._max_queue_size:
            self._max_queue_size = queue_size
        self._fill_pct = queue_size / max_size * 100
        if self._fill_pct >= self._high_water:
            if not self._throttling:
                self._throttling = True
                self._throttle_starts += 1
        elif self._fill_pct <= self._low_water:
            self._throttling = False

    def record_blocked(self, blocked_ms: float) -> None:
        """Record one put that waited ``blocked_ms`` milliseconds for room."""
        blocked_ms = check_number("blocked_ms", blocked_ms)
        self._blocked_puts += 1
        self._total_blocked_ms += blocked_ms

    def record_drop(self) -> None:
        """Record one dropped item."""
        self._dropped_items += 1

    def should_throttle(self) -> bool:
        """True between crossing the high-water mark and falling to the low-water mark."""
        return self._throttling

    @property
    def fill_percentage(self) -> float:
        """Fill in percent: the owning queue's current fill, else the last ``record_put``."""
        if self._sync is not None:
            self._sync()
        return self._fill_pct
