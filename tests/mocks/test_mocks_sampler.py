"""Periodic sampler: probes recorded on an absolute schedule, loop lag, stop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mocks.sampler import LOOP_LAG_SERIES, sample_periodically
from mocks.trace import Trace


async def test_probes_are_sampled_every_interval_until_stopped(clock: Any) -> None:
    trace, stop = Trace(), asyncio.Event()
    depth = iter(range(100))

    def queue_depth() -> float:
        value = next(depth)
        if value == 4:
            stop.set()
        return value

    start = clock()
    async with asyncio.timeout(5):
        ticks = await sample_periodically(trace, {"queue_depth": queue_depth},
                                          interval_ms=10, stop=stop, clock=clock,
                                          sleep=clock.sleep)
    series = trace.samples["queue_depth"]
    assert ticks == 5
    assert series["value"].tolist() == [0, 1, 2, 3, 4]
    assert [(t - start) / 1e6 for t in series["t_ns"].tolist()] == pytest.approx(
        [0, 10, 20, 30, 40], abs=0.011)


async def test_loop_lag_records_how_late_the_sampler_woke(clock: Any) -> None:
    trace, stop = Trace(), asyncio.Event()
    sleeps = 0
    plain_sleep = clock.sleep

    async def sleep_with_one_stall(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        await plain_sleep(seconds)
        if sleeps == 2:
            clock.advance_ms(7)  # something held the loop: this wake-up is 7 ms late
        if sleeps == 3:
            stop.set()

    async with asyncio.timeout(5):
        await sample_periodically(trace, {}, interval_ms=10, stop=stop, clock=clock,
                                  sleep=sleep_with_one_stall, spin_ms=0)
    assert trace.samples[LOOP_LAG_SERIES]["value"].tolist() == pytest.approx([0.0, 0.0, 7.0])
