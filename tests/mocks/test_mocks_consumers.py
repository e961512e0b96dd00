"""Queue consumers: end-of-stream handling, identity decoding, stall gate, crash."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import pytest
from stageflow.helpers.streaming import AudioChunk, ChunkQueue

from mocks.consumers import (
    ConsumerCrashed,
    crashing_consumer,
    drain_nowait,
    fast_consumer,
    slow_consumer,
    stalled_consumer,
    take_nowait,
)
from mocks.trace import Trace, make_sequence


def _chunk(producer: int, seq: int) -> AudioChunk:
    return AudioChunk(data=b"\x00\x00", sequence=make_sequence(producer, seq))


async def _filled_peer_queue(count: int, producer: int = 1) -> ChunkQueue:
    queue: ChunkQueue = ChunkQueue(max_size=count + 1)
    for seq in range(count):
        await queue.put(_chunk(producer, seq))
    await queue.close()
    return queue


class ScriptedQueue:
    """A fake queue that hands out its items, then ends the way the test chooses."""

    def __init__(self, items: list[Any], end: Any) -> None:
        self.items = deque(items)
        self.end = end
        self.gets = 0

    async def get(self) -> Any:
        self.gets += 1
        if self.items:
            return self.items.popleft()
        if isinstance(self.end, type):
            raise self.end()
        return self.end

    async def get_many(self, max_items: int) -> list[Any]:
        self.gets += 1
        taken = [self.items.popleft() for _ in range(min(max_items, len(self.items)))]
        return taken


async def test_fast_consumer_takes_everything_from_a_closed_peer_queue_in_order() -> None:
    trace = Trace()
    async with asyncio.timeout(5):
        taken = await fast_consumer(await _filled_peer_queue(5), consumer=4, trace=trace)
    assert taken == 5
    assert trace.receipts[["consumer", "producer", "seq"]].tolist() == [
        (4, 1, s) for s in range(5)]


class Ended(Exception):
    pass


@pytest.mark.parametrize("end", [None, StopAsyncIteration, Ended],
                         ids=["get-returns-None", "StopAsyncIteration", "end_errors"])
async def test_fast_consumer_stops_at_each_end_of_stream_signal(end: Any) -> None:
    queue = ScriptedQueue([_chunk(0, 0), _chunk(0, 1)], end)
    async with asyncio.timeout(5):
        taken = await fast_consumer(queue, consumer=0, trace=Trace(), end_errors=(Ended,))
    assert (taken, queue.gets) == (2, 3)


async def test_an_error_that_is_not_an_end_signal_propagates() -> None:
    queue = ScriptedQueue([], Ended)
    with pytest.raises(Ended):
        async with asyncio.timeout(5):
            await fast_consumer(queue, consumer=0, trace=Trace())


async def test_batch_consumer_stops_when_get_many_returns_nothing() -> None:
    trace = Trace()
    queue = ScriptedQueue([_chunk(2, s) for s in range(5)], None)
    async with asyncio.timeout(5):
        taken = await fast_consumer(queue, consumer=0, trace=trace, batch=2)
    assert (taken, queue.gets) == (5, 4)  # 2 + 2 + 1, then []
    assert trace.receipts["seq"].tolist() == [0, 1, 2, 3, 4]


async def test_items_without_a_sequence_are_recorded_as_unidentified() -> None:
    trace = Trace()
    async with asyncio.timeout(5):
        await fast_consumer(ScriptedQueue([b"raw", _chunk(3, 9)], None), consumer=0,
                            trace=trace)
    assert trace.receipts[["producer", "seq"]].tolist() == [(-1, -1), (3, 9)]


async def test_slow_consumer_still_takes_everything_then_ends() -> None:
    trace = Trace()
    async with asyncio.timeout(5):
        taken = await slow_consumer(await _filled_peer_queue(4), consumer=0, trace=trace,
                                    delay_ms=0.5)
    assert taken == trace.receipt_count == 4


async def test_stalled_consumer_takes_nothing_until_released() -> None:
    trace, gate = Trace(), asyncio.Event()
    queue = await _filled_peer_queue(3)
    async with asyncio.timeout(5):
        task = asyncio.create_task(stalled_consumer(queue, consumer=0, trace=trace, stall=gate))
        for _ in range(20):  # let it run as far as it can
            await asyncio.sleep(0)
        assert (trace.receipt_count, len(queue)) == (0, 4)  # 3 items + the close sentinel
        gate.set()
        assert await task == 3


async def test_crashing_consumer_dies_after_n_items_and_leaves_the_rest() -> None:
    trace = Trace()
    queue = await _filled_peer_queue(5)
    with pytest.raises(ConsumerCrashed, match="after 2 items"):
        async with asyncio.timeout(5):
            await crashing_consumer(queue, consumer=0, trace=trace, crash_after=2)
    assert trace.receipt_count == 2
    assert len(queue) == 4  # 3 items left + the close sentinel


async def test_crashing_consumer_returns_when_the_stream_ends_first() -> None:
    async with asyncio.timeout(5):
        taken = await crashing_consumer(await _filled_peer_queue(2), consumer=0, trace=Trace(),
                                        crash_after=10)
    assert taken == 2


async def test_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="delay_ms"):
        await slow_consumer(ScriptedQueue([], None), consumer=0, trace=Trace(), delay_ms=-1)


class NowaitQueue:
    """A fake queue with ``len`` and ``get_nowait`` only (raises when empty)."""

    def __init__(self, items: list[Any]) -> None:
        self.items = deque(items)

    def __len__(self) -> int:
        return len(self.items)

    def get_nowait(self) -> Any:
        if not self.items:
            raise asyncio.QueueEmpty
        return self.items.popleft()


def test_drain_nowait_records_every_item_left_and_skips_end_markers() -> None:
    trace = Trace()
    queue = NowaitQueue([_chunk(2, 5), None, object(), _chunk(2, 6)])
    assert drain_nowait(queue, consumer=7, trace=trace) == 3
    receipts = trace.receipts
    assert receipts[["consumer", "producer", "seq"]].tolist() == [
        (7, 2, 5), (7, -1, -1), (7, 2, 6)]
    assert len(queue) == 0


def test_take_nowait_gives_nothing_for_a_queue_without_len() -> None:
    class NoLen:
        def get_nowait(self) -> Any:
            return _chunk(0, 0)

    assert take_nowait(NoLen()) == []
