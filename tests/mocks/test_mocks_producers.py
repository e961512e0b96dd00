"""Open-loop producer: schedule kept, never early, never skipping, outcomes classified.

Timing behaviour is checked on a fake clock (``clock`` fixture: it only moves when the test
or a sleeper moves it), so the assertions are exact and independent of machine load.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest
from stageflow.helpers.streaming import ChunkQueue

from mocks.consumers import fast_consumer
from mocks.producers import (
    as_async,
    default_outcome,
    open_loop_producer,
    outcome_classifier,
)
from mocks.rates import ConstantRate, JitteredRate
from mocks.trace import Trace, make_sequence

MS = 1_000_000


class Chunk:
    def __init__(self, producer: int, seq: int) -> None:
        self.sequence = make_sequence(producer, seq)


class GatedQueue:
    """A fake queue whose first put blocks until the test opens ``gate``."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.blocked = asyncio.Event()
        self.items: list[Any] = []

    async def put(self, item: Any) -> bool:
        if not self.items and not self.gate.is_set():
            self.blocked.set()
            await self.gate.wait()
        self.items.append(item)
        return True


async def test_a_blocked_put_makes_later_chunks_late_but_none_is_skipped(clock: Any) -> None:
    trace, queue = Trace(), GatedQueue()
    task = asyncio.create_task(open_loop_producer(
        producer=0, count=5, rate=ConstantRate(1000), make_chunk=Chunk, put=queue.put,
        trace=trace, start_ns=clock(), spin_ms=0, clock=clock, sleep=clock.sleep))
    async with asyncio.timeout(5):
        await queue.blocked.wait()
        clock.advance_ms(10)  # the put is held back 10 ms
        queue.gate.set()
        report = await task
    sends = trace.sends
    late_ms = (sends["start_ns"] - sends["intended_ns"]) / MS
    assert sends["seq"].tolist() == [0, 1, 2, 3, 4]
    assert late_ms.tolist() == [0.0, 9.0, 8.0, 7.0, 6.0]  # latency counts from intended time
    assert [c.sequence for c in queue.items] == [make_sequence(0, s) for s in range(5)]
    assert report.sent == report.queued == 5
    assert report.max_late_ms == 9.0


async def test_a_blocked_put_is_not_counted_as_schedule_lag(clock: Any) -> None:
    queue = GatedQueue()
    task = asyncio.create_task(open_loop_producer(
        producer=0, count=5, rate=ConstantRate(1000), make_chunk=Chunk, put=queue.put,
        trace=Trace(), start_ns=clock(), spin_ms=0, clock=clock, sleep=clock.sleep))
    async with asyncio.timeout(5):
        await queue.blocked.wait()
        clock.advance_ms(10)
        queue.gate.set()
        report = await task
    assert report.max_schedule_lag_ms == 0.0


async def test_each_put_records_whether_it_started_on_a_full_queue(clock: Any) -> None:
    trace, items = Trace(), []

    async def put(item: Any) -> None:
        items.append(item)

    await open_loop_producer(
        producer=0, count=4, rate=ConstantRate(1000), make_chunk=Chunk, put=put, trace=trace,
        start_ns=clock(), spin_ms=0, full=lambda: len(items) >= 2, clock=clock,
        sleep=clock.sleep)
    assert trace.sends["full"].tolist() == [0, 0, 1, 1]


async def test_without_a_probe_or_when_it_raises_fullness_is_unknown(clock: Any) -> None:
    async def put(item: Any) -> None:
        return None

    def broken() -> bool:
        raise RuntimeError("no len")

    for full in (None, broken):
        trace = Trace()
        await open_loop_producer(
            producer=0, count=2, rate=ConstantRate(1000), make_chunk=Chunk, put=put,
            trace=trace, start_ns=clock(), spin_ms=0, full=full, clock=clock,
            sleep=clock.sleep)
        assert trace.sends["full"].tolist() == [-1, -1]


async def test_a_slow_generator_shows_up_as_schedule_lag(clock: Any) -> None:
    def slow_chunk(producer: int, seq: int) -> Chunk:
        clock.advance_ms(2)  # building a chunk takes 2 ms, the period is 1 ms
        return Chunk(producer, seq)

    async def put(item: Any) -> None:
        return None

    report = await open_loop_producer(
        producer=0, count=4, rate=ConstantRate(1000), make_chunk=slow_chunk, put=put,
        trace=Trace(), start_ns=clock(), spin_ms=0, clock=clock, sleep=clock.sleep)
    assert report.max_schedule_lag_ms == 2.0


async def test_no_chunk_is_sent_before_its_intended_time(clock: Any) -> None:
    trace = Trace()

    async def put(item: Any) -> None:
        return None

    rate = JitteredRate(500, jitter=0.5, seed=11)
    report = await open_loop_producer(
        producer=2, count=200, rate=rate, make_chunk=Chunk, put=put, trace=trace,
        start_ns=clock(), clock=clock, sleep=clock.sleep)
    sends = trace.sends
    assert report.sent == 200
    assert np.all(sends["start_ns"] >= sends["intended_ns"])
    # Hybrid sleep: the fake loop's yields are 10 us, so no chunk starts later than that.
    assert np.all(sends["start_ns"] - sends["intended_ns"] <= clock.quantum_ns)


async def test_the_producer_sleeps_only_when_the_next_chunk_is_over_spin_ms_away(
    clock: Any,
) -> None:
    async def put(item: Any) -> None:
        return None

    await open_loop_producer(
        producer=0, count=3, rate=ConstantRate(100), make_chunk=Chunk, put=put, trace=Trace(),
        start_ns=clock(), spin_ms=1.0, clock=clock, sleep=clock.sleep)
    timed = [s for s in clock.sleeps if s > 0]
    assert timed == [pytest.approx(0.009), pytest.approx(0.009)]  # 10 ms gap - 1 ms spin


async def test_against_a_real_queue_every_chunk_arrives_once_and_none_early() -> None:
    trace, queue = Trace(), ChunkQueue(max_size=8)
    async with asyncio.timeout(20):
        consumer = asyncio.create_task(fast_consumer(queue, consumer=0, trace=trace))
        report = await open_loop_producer(
            producer=1, count=300, rate=ConstantRate(3000), make_chunk=Chunk, put=queue.put,
            trace=trace, start_ns=time.perf_counter_ns())
        await queue.close()
        received = await consumer
    sends, receipts = trace.sends, trace.receipts
    assert report.queued == received == 300
    assert np.all(sends["start_ns"] >= sends["intended_ns"])
    assert receipts["seq"].tolist() == list(range(300))
    assert set(receipts["producer"].tolist()) == {1}


@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [
        (lambda: False, "dropped"),
        (lambda: True, "queued"),
        (lambda: None, "queued"),
        (TimeoutError, "timeout"),
        (asyncio.QueueFull, "rejected"),
        (KeyError, "error"),
    ],
)
async def test_default_outcomes(behaviour: Any, outcome: str, clock: Any) -> None:
    async def put(item: Any) -> Any:
        if isinstance(behaviour, type):
            raise behaviour()
        return behaviour()

    trace = Trace()
    await open_loop_producer(
        producer=0, count=2, rate=ConstantRate(1000), make_chunk=Chunk, put=put, trace=trace,
        start_ns=clock(), clock=clock, sleep=clock.sleep)
    assert trace.sends["outcome"].tolist() == [outcome, outcome]


class Closed(Exception):
    pass


class Full(Exception):
    pass


def test_classifier_maps_the_targets_errors() -> None:
    classify = outcome_classifier(closed_errors=(Closed,), full_errors=(Full,))
    assert classify(Closed(), None) == "closed"
    assert classify(Full(), None) == "timeout"
    assert outcome_classifier(full_errors=(Full,), full_outcome="rejected")(Full(), None) == (
        "rejected")
    assert classify(None, False) == default_outcome(None, False) == "dropped"


async def test_errors_are_recorded_and_the_producer_goes_on(clock: Any) -> None:
    calls = 0

    async def put(item: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("boom")

    report = await open_loop_producer(
        producer=0, count=4, rate=ConstantRate(1000), make_chunk=Chunk, put=put, trace=Trace(),
        start_ns=clock(), clock=clock, sleep=clock.sleep)
    assert (report.sent, report.queued, report.errors) == (4, 3, 1)
    assert report.first_error == "RuntimeError('boom')"


async def test_stop_on_ends_the_producer_at_the_first_such_outcome(clock: Any) -> None:
    async def put(item: Any) -> None:
        raise Closed()

    report = await open_loop_producer(
        producer=0, count=10, rate=ConstantRate(1000), make_chunk=Chunk, put=put,
        trace=Trace(), start_ns=clock(), stop_on={"closed"},
        outcome_of=outcome_classifier(closed_errors=(Closed,)), clock=clock, sleep=clock.sleep)
    assert (report.sent, report.closed, report.stopped_early) == (1, 1, True)


async def test_a_set_stop_event_ends_the_producer_before_the_next_chunk(clock: Any) -> None:
    stop = asyncio.Event()
    sent: list[Any] = []

    async def put(item: Any) -> None:
        sent.append(item)
        if len(sent) == 3:
            stop.set()

    report = await open_loop_producer(
        producer=0, count=10, rate=ConstantRate(1000), make_chunk=Chunk, put=put,
        trace=Trace(), start_ns=clock(), stop=stop, clock=clock, sleep=clock.sleep)
    assert (report.sent, report.stopped_early, len(sent)) == (3, True, 3)


async def test_cancellation_records_the_put_in_flight_as_cancelled(clock: Any) -> None:
    trace, queue = Trace(), GatedQueue()
    task = asyncio.create_task(open_loop_producer(
        producer=0, count=3, rate=ConstantRate(1000), make_chunk=Chunk, put=queue.put,
        trace=trace, start_ns=clock(), clock=clock, sleep=clock.sleep))
    async with asyncio.timeout(5):
        await queue.blocked.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert trace.sends["outcome"].tolist() == ["cancelled"]


async def test_a_synchronous_put_can_be_driven_through_as_async(clock: Any) -> None:
    added: list[Any] = []
    report = await open_loop_producer(
        producer=0, count=3, rate=ConstantRate(1000), make_chunk=Chunk,
        put=as_async(added.append), trace=Trace(), start_ns=clock(), clock=clock,
        sleep=clock.sleep)
    assert report.queued == len(added) == 3


@pytest.mark.parametrize(("kwargs", "name"), [({"producer": -1}, "producer"),
                                              ({"count": -1}, "count"),
                                              ({"stop_on": {"vanished"}}, "stop_on")])
async def test_bad_arguments_are_refused_naming_them(kwargs: dict, name: str) -> None:
    async def put(item: Any) -> None:
        return None

    args: dict[str, Any] = {"producer": 0, "count": 1, "rate": ConstantRate(10),
                            "make_chunk": Chunk, "put": put, "trace": Trace(), "start_ns": 0}
    with pytest.raises(ValueError, match=name):
        await open_loop_producer(**(args | kwargs))
