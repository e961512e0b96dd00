"""Periodic sampling of levels (queue depth, buffer ms) and of event-loop lag."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from mocks import _checks
from mocks._clock import Clock, Sleep, sleep_until
from mocks.trace import Trace

__all__ = ["LOOP_LAG_SERIES", "sample_periodically"]

LOOP_LAG_SERIES = "loop_lag_ms"


async def sample_periodically(
    trace: Trace, probes: Mapping[str, Callable[[], float]], *, interval_ms: float,
    stop: asyncio.Event, loop_lag_series: str | None = LOOP_LAG_SERIES,
    spin_ms: float = 1.0, clock: Clock = time.perf_counter_ns, sleep: Sleep = asyncio.sleep,
) -> int:
    """Every ``interval_ms`` (absolute schedule) record each probe's value in ``trace``
    under its name, and how late this task woke behind its tick under ``loop_lag_series``
    (the event loop's lag: time other callbacks held the loop). Samples once at start,
    ends when ``stop`` is set (checked at every tick); returns the number of ticks.

    :raises ValueError: interval_ms not > 0, spin_ms < 0.
    """
    tick_ns = round(_checks.positive("interval_ms", interval_ms) * 1_000_000)
    spin_ns = round(_checks.non_negative("spin_ms", spin_ms) * 1_000_000)
    sample = trace.sample
    items = list(probes.items())
    due = clock()
    ticks = 0
    while True:
        now = await sleep_until(due, clock=clock, sleep=sleep, spin_ns=spin_ns)
        if stop.is_set():
            return ticks
        for name, probe in items:
            sample(name, probe(), now)
        if loop_lag_series is not None:
            sample(loop_lag_series, (now - due) / 1e6, now)
        ticks += 1
        due += tick_ns
        if due < now:  # the loop was held for more than a tick: resynchronise, don't burst
            due = now + tick_ns - (now - due) % tick_ns
