"""Fault injectors: windows, seeded probabilities, raising/slow emitters, bursts, stalls."""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Any

import numpy as np
import pytest

from mocks.faults import FaultWindow, RaisingEmitter, SlowEmitter, burst, stall_during
from mocks.trace import Trace, make_sequence

MS = 1_000_000


class Chunk:
    def __init__(self, producer: int, seq: int) -> None:
        self.sequence = make_sequence(producer, seq)


def test_window_contains_its_start_but_not_its_end() -> None:
    window = FaultWindow(start_ms=100, duration_ms=50)
    assert [window.contains(t * MS, 0) for t in (99, 100, 149, 150)] == [
        False, True, True, False]


def test_an_endless_window_stays_open() -> None:
    assert FaultWindow(10, math.inf).contains(10**15, 0)


def test_window_probability_is_seeded_and_roughly_kept() -> None:
    window = FaultWindow(0, 1000, probability=0.25)

    def decisions(seed: int) -> list[bool]:
        rng = np.random.default_rng(seed)
        return [window.active(MS, 0, rng) for _ in range(2000)]

    assert decisions(1) == decisions(1)
    assert decisions(1) != decisions(2)
    assert sum(decisions(1)) / 2000 == pytest.approx(0.25, abs=0.03)


def test_no_random_draw_is_taken_outside_the_window() -> None:
    window = FaultWindow(10, 10, probability=0.5)
    rng, reference = random.Random(3), random.Random(3)
    assert not window.active(0, 0, rng)
    assert rng.random() == reference.random()


@pytest.mark.parametrize(("args", "name"), [((-1, 10), "start_ms"),
                                            ((0, float("nan")), "duration_ms"),
                                            ((0, 10, 1.5), "probability")])
def test_bad_windows_are_refused_naming_the_argument(args: tuple, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        FaultWindow(*args)


def test_raising_emitter_raises_runtime_error_and_counts_it() -> None:
    emitter = RaisingEmitter(None, 1.0, 0)
    with pytest.raises(RuntimeError, match=r"stream\.chunk_dropped"):
        emitter("stream.chunk_dropped", {})
    assert (emitter.calls, emitter.raised) == (1, 1)


def test_raising_emitter_forwards_to_inner_when_no_fault_fires() -> None:
    trace = Trace()
    emitter = RaisingEmitter(trace.emitter, probability=0.0)
    emitter("stream.queue_closed", {"total_items": 3})
    assert trace.events_named("stream.queue_closed")[0][1] == {"total_items": 3}


def test_raising_emitter_fires_only_inside_its_window(clock: Any) -> None:
    emitter = RaisingEmitter(window=FaultWindow(10, 10), start_ns=clock(), clock=clock)
    emitter("before", {})
    clock.advance_ms(15)
    with pytest.raises(RuntimeError):
        emitter("inside", {})
    clock.advance_ms(10)
    emitter("after", {})
    assert emitter.raised == 1


def test_raising_emitter_can_target_one_event_name() -> None:
    emitter = RaisingEmitter(events={"stream.buffer_underrun"})
    emitter("stream.buffer_overflow", {})
    with pytest.raises(RuntimeError):
        emitter("stream.buffer_underrun", {})


def test_raising_emitter_with_probability_is_reproducible() -> None:
    def pattern(seed: int) -> list[bool]:
        emitter = RaisingEmitter(None, 0.5, seed)
        fired = []
        for _ in range(64):
            try:
                emitter("e", {})
                fired.append(False)
            except RuntimeError:
                fired.append(True)
        return fired

    assert pattern(5) == pattern(5)
    assert 10 < sum(pattern(5)) < 54


def test_probability_besides_a_window_is_refused() -> None:
    with pytest.raises(ValueError, match="probability"):
        RaisingEmitter(None, 0.5, window=FaultWindow(0, 10))


def test_slow_emitter_blocks_for_delay_ms_then_forwards() -> None:
    blocked: list[float] = []
    trace = Trace()
    emitter = SlowEmitter(trace.emitter, 25.0, block=blocked.append)
    emitter("stream.producer_blocked", {"queue_size": 1})
    assert blocked == [0.025]
    assert emitter.delayed == 1
    assert trace.events_named("stream.producer_blocked")


def test_slow_emitter_really_blocks_the_thread() -> None:
    emitter = SlowEmitter(None, 5.0)
    began = time.perf_counter_ns()
    emitter("e", {})
    assert time.perf_counter_ns() - began >= 5 * MS  # a lower bound: never flaky


async def test_sequential_burst_puts_every_chunk_with_one_intended_time() -> None:
    trace, queue = Trace(), asyncio.Queue()
    async with asyncio.timeout(5):
        report = await burst(producer=3, count=6, make_chunk=Chunk, put=queue.put, trace=trace)
    sends = trace.sends
    assert report.queued == queue.qsize() == 6
    assert len(set(sends["intended_ns"].tolist())) == 1
    assert sends["seq"].tolist() == list(range(6))


async def test_concurrent_burst_blocks_many_producers_at_once_on_a_full_queue() -> None:
    trace, queue = Trace(), asyncio.Queue(maxsize=2)
    waiting, three_waiting = 0, asyncio.Event()

    async def put(item: Any) -> None:
        nonlocal waiting
        if queue.full():
            waiting += 1
            if waiting == 3:
                three_waiting.set()
        await queue.put(item)

    async with asyncio.timeout(5):
        task = asyncio.create_task(burst(producer=0, count=5, make_chunk=Chunk, put=put,
                                         trace=trace, concurrent=True))
        await three_waiting.wait()  # 2 puts went in, the other 3 are parked together
        drained = [await queue.get() for _ in range(5)]
        report = await task
    assert report.queued == len(drained) == 5
    assert sorted(trace.sends["seq"].tolist()) == list(range(5))


async def test_concurrent_burst_records_which_puts_started_on_a_full_queue() -> None:
    trace, queue = Trace(), asyncio.Queue(maxsize=2)
    async with asyncio.timeout(5):
        task = asyncio.create_task(burst(producer=0, count=4, make_chunk=Chunk, put=queue.put,
                                         trace=trace, concurrent=True, full=queue.full))
        drained = [await queue.get() for _ in range(4)]
        await task
    full = dict(zip(trace.sends["seq"].tolist(), trace.sends["full"].tolist(), strict=True))
    assert len(drained) == 4
    assert full == {0: 0, 1: 0, 2: 1, 3: 1}


async def test_stall_during_clears_the_gate_for_the_window_then_sets_it(clock: Any) -> None:
    gate = asyncio.Event()
    gate.set()
    start = clock()
    seen: list[tuple[float, bool]] = []
    original_sleep = clock.sleep

    async def watching_sleep(seconds: float) -> None:
        await original_sleep(seconds)
        seen.append(((clock() - start) / MS, gate.is_set()))

    clock.sleep = watching_sleep
    async with asyncio.timeout(5):
        fired = await stall_during(gate, FaultWindow(50, 30), start_ns=start, clock=clock,
                                   sleep=clock.sleep)
    assert fired and gate.is_set()
    stalled = [t for t, is_set in seen if not is_set]
    assert stalled and min(stalled) >= 50 and max(stalled) < 80 + 0.02


async def test_stall_with_probability_zero_never_happens(clock: Any) -> None:
    gate = asyncio.Event()
    gate.set()
    async with asyncio.timeout(5):
        fired = await stall_during(gate, FaultWindow(0, 10, probability=0.0),
                                   start_ns=clock(), clock=clock, sleep=clock.sleep)
    assert not fired and gate.is_set()
