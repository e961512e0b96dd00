"""ChunkQueue cancellation safety: no item lost, no half put, no wake-up swallowed."""

from __future__ import annotations

import asyncio

import pytest

from stageflow_core import ChunkQueue, QueueFull

pytestmark = pytest.mark.timeout(10)


async def test_cancelled_waiting_get_loses_no_item(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    consumer = asyncio.create_task(queue.get())
    await until(lambda: queue.statistics().waiting_getters == 1)
    consumer.cancel()
    await until(consumer.done)
    await queue.put(1)
    assert queue.get_nowait() == 1


async def test_woken_then_cancelled_get_passes_the_item_to_the_next_consumer(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    first = asyncio.create_task(queue.get())
    await until(lambda: queue.statistics().waiting_getters == 1)
    second = asyncio.create_task(queue.get())
    await until(lambda: queue.statistics().waiting_getters == 2)
    queue.put_nowait(1)  # wakes `first`
    first.cancel()  # before it could run and take the item
    async with asyncio.timeout(5):
        assert await second == 1
    assert first.cancelled()


@pytest.mark.parametrize("take", ["get", "get_many"])
async def test_woken_then_cancelled_get_leaves_the_item_queued(until, take: str) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    consumer = asyncio.create_task(queue.get() if take == "get" else queue.get_many(5))
    await until(lambda: queue.statistics().waiting_getters == 1)
    queue.put_nowait(1)
    consumer.cancel()
    await until(consumer.done)
    assert consumer.cancelled()
    assert queue.get_nowait() == 1


async def test_cancelled_waiting_put_does_not_queue_its_item(events, until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, event_emitter=events)
    queue.put_nowait(1)
    producer = asyncio.create_task(queue.put(2))
    await until(lambda: queue.statistics().waiting_putters == 1)
    producer.cancel()
    await until(producer.done)
    assert queue.get_nowait() == 1
    assert len(queue) == 0
    assert events.payloads("stream.producer_unblocked")[0]["outcome"] == "cancelled"


async def test_woken_then_cancelled_put_passes_the_room_to_the_next_producer(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1)
    queue.put_nowait(0)
    first = asyncio.create_task(queue.put(1))
    await until(lambda: queue.statistics().waiting_putters == 1)
    second = asyncio.create_task(queue.put(2))
    await until(lambda: queue.statistics().waiting_putters == 2)
    assert queue.get_nowait() == 0  # wakes `first`
    first.cancel()  # before it could run and take the room
    async with asyncio.timeout(5):
        assert await second is True
    assert first.cancelled()
    assert [queue.get_nowait()] == [2]
    assert len(queue) == 0


async def test_expired_put_does_not_swallow_the_next_wake_up(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1)
    queue.put_nowait(0)
    timed = asyncio.create_task(queue.put(1, timeout=0.001))
    await until(lambda: queue.statistics().waiting_putters == 1)
    patient = asyncio.create_task(queue.put(2))
    async with asyncio.timeout(5):
        with pytest.raises(QueueFull):
            await timed
    assert queue.get_nowait() == 0
    async with asyncio.timeout(5):
        assert await patient is True
    assert queue.get_nowait() == 2
