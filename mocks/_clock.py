"""Waiting until a monotonic deadline without waking early and with little overshoot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__: list[str] = []

Clock = Callable[[], int]
Sleep = Callable[[float], Awaitable[object]]

DEFAULT_SPIN_NS = 1_000_000
"""The event loop's timers wake up to ~1 ms late (epoll rounds its timeout up to whole
milliseconds), so the last stretch before a deadline is waited by yielding to the loop."""


async def sleep_until(deadline_ns: int, *, clock: Clock = time.perf_counter_ns,
                      sleep: Sleep = asyncio.sleep, spin_ns: int = DEFAULT_SPIN_NS) -> int:
    """Return ``clock()`` once it is >= ``deadline_ns``; never earlier.

    Sleeps while the deadline is more than ``spin_ns`` away, then yields to the loop
    (``sleep(0)``) until it passes, so other tasks keep running meanwhile.
    """
    now = clock()
    while now < deadline_ns:
        remaining = deadline_ns - now
        await sleep((remaining - spin_ns) / 1e9 if remaining > spin_ns else 0)
        now = clock()
    return now
