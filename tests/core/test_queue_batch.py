"""ChunkQueue batch API: put_many / get_many and their _nowait twins."""

from __future__ import annotations

import asyncio

import pytest

from stageflow_core import ChunkQueue, QueueClosed, QueueEmpty, QueueFull

pytestmark = pytest.mark.timeout(10)


async def test_put_many_queues_every_item_in_order() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    assert await queue.put_many([1, 2, 3]) == 3
    assert queue.get_many_nowait(10) == [1, 2, 3]


async def test_put_many_accepts_any_iterable() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    assert await queue.put_many(i for i in range(4)) == 4
    assert len(queue) == 4


async def test_put_many_with_a_none_item_queues_nothing() -> None:
    queue: ChunkQueue[object] = ChunkQueue(10)
    with pytest.raises(TypeError, match="end of stream"):
        await queue.put_many([1, None, 3])
    assert len(queue) == 0


async def test_put_many_waits_for_room_while_the_consumer_drains(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(4)
    producer = asyncio.create_task(queue.put_many(range(10)))
    received: list[int] = []
    async with asyncio.timeout(5):
        while len(received) < 10:
            received += await queue.get_many(3)
        assert await producer == 10
    assert received == list(range(10))


async def test_put_many_timeout_reports_how_many_were_queued() -> None:
    queue: ChunkQueue[int] = ChunkQueue(3)
    async with asyncio.timeout(5):
        with pytest.raises(QueueFull) as caught:
            await queue.put_many(range(5), timeout=0.001)
    assert caught.value.queued == 3
    assert queue.get_many_nowait(10) == [0, 1, 2]


async def test_put_many_on_closed_queue_raises_queue_closed() -> None:
    queue: ChunkQueue[int] = ChunkQueue(3)
    await queue.close()
    with pytest.raises(QueueClosed):
        await queue.put_many([1])


async def test_put_many_closed_while_waiting_reports_how_many_were_queued(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(2)
    producer = asyncio.create_task(queue.put_many(range(5)))
    await until(lambda: queue.statistics().waiting_putters == 1)
    await queue.close()
    async with asyncio.timeout(5):
        with pytest.raises(QueueClosed) as caught:
            await producer
    assert caught.value.queued == 2


async def test_put_many_under_reject_queues_what_fits_then_raises() -> None:
    queue: ChunkQueue[int] = ChunkQueue(3, overflow="reject")
    queue.put_nowait(0)
    with pytest.raises(QueueFull) as caught:
        await queue.put_many([1, 2, 3, 4])
    assert caught.value.queued == 2
    assert queue.get_many_nowait(10) == [0, 1, 2]
    assert queue.statistics().rejected == 2


async def test_put_many_under_drop_newest_returns_the_number_queued(events) -> None:
    queue: ChunkQueue[int] = ChunkQueue(3, overflow="drop_newest", event_emitter=events)
    assert await queue.put_many(range(5)) == 3
    assert len(events.payloads("stream.chunk_dropped")) == 2


async def test_put_many_under_drop_oldest_keeps_the_newest() -> None:
    queue: ChunkQueue[int] = ChunkQueue(3, overflow="drop_oldest")
    assert await queue.put_many(range(5)) == 5
    assert queue.get_many_nowait(10) == [2, 3, 4]


def test_put_many_nowait_on_full_blocking_queue_raises_with_queued_count() -> None:
    queue: ChunkQueue[int] = ChunkQueue(2)
    with pytest.raises(QueueFull) as caught:
        queue.put_many_nowait([1, 2, 3])
    assert caught.value.queued == 2


async def test_get_many_returns_at_most_max_items() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    queue.put_many_nowait(range(5))
    async with asyncio.timeout(5):
        assert await queue.get_many(3) == [0, 1, 2]
        assert await queue.get_many(3) == [3, 4]


async def test_get_many_waits_for_at_least_one_item(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    consumer = asyncio.create_task(queue.get_many(5))
    await until(lambda: queue.statistics().waiting_getters == 1)
    assert not consumer.done()
    queue.put_nowait(1)
    async with asyncio.timeout(5):
        assert await consumer == [1]


async def test_get_many_returns_empty_list_at_end_of_stream() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    queue.put_nowait(1)
    await queue.close()
    async with asyncio.timeout(5):
        assert await queue.get_many(5) == [1]
        assert await queue.get_many(5) == []


async def test_get_many_wakes_one_blocked_producer_per_item_taken(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(3)
    queue.put_many_nowait([0, 1, 2])
    producers = [asyncio.create_task(queue.put(i)) for i in (3, 4, 5)]
    await until(lambda: queue.statistics().waiting_putters == 3)
    assert queue.get_many_nowait(2) == [0, 1]
    await until(lambda: len(queue) == 3)
    assert queue.statistics().waiting_putters == 1
    assert queue.get_many_nowait(10) == [2, 3, 4]
    async with asyncio.timeout(5):
        await asyncio.gather(*producers)
    assert queue.get_many_nowait(10) == [5]


def test_get_many_nowait_on_empty_open_queue_raises_queue_empty() -> None:
    with pytest.raises(QueueEmpty):
        ChunkQueue[int](10).get_many_nowait(3)


@pytest.mark.parametrize("max_items", [0, -2])
def test_get_many_with_max_items_below_one_is_refused(max_items: int) -> None:
    with pytest.raises(ValueError, match="max_items"):
        ChunkQueue[int](10).get_many_nowait(max_items)
