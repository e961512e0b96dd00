"""ChunkQueue.close(): nothing waits forever, consumers drain what is left."""

from __future__ import annotations

import asyncio

import pytest

from stageflow_core import ChunkQueue, QueueClosed

pytestmark = pytest.mark.timeout(10)


async def test_close_wakes_three_blocked_consumers(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    consumers = [asyncio.create_task(queue.get()) for _ in range(3)]
    await until(lambda: queue.statistics().waiting_getters == 3)
    await queue.close()
    async with asyncio.timeout(5):
        assert await asyncio.gather(*consumers) == [None, None, None]


async def test_close_wakes_two_blocked_producers_with_queue_closed(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1)
    await queue.put(0)
    producers = [asyncio.create_task(queue.put(i)) for i in (1, 2)]
    await until(lambda: queue.statistics().waiting_putters == 2)
    await queue.close()
    async with asyncio.timeout(5):
        results = await asyncio.gather(*producers, return_exceptions=True)
    assert [type(r) for r in results] == [QueueClosed, QueueClosed]
    assert queue.statistics().waiting_putters == 0


async def test_close_with_blocked_producers_and_consumers_leaves_no_waiter(until) -> None:
    full: ChunkQueue[int] = ChunkQueue(1)
    await full.put(0)
    empty: ChunkQueue[int] = ChunkQueue(1)
    tasks = [asyncio.create_task(full.put(i)) for i in (1, 2)]
    tasks += [asyncio.create_task(empty.get()) for _ in range(3)]
    await until(lambda: full.statistics().waiting_putters == 2)
    await until(lambda: empty.statistics().waiting_getters == 3)
    await full.close()
    await empty.close()
    async with asyncio.timeout(5):
        await asyncio.gather(*tasks, return_exceptions=True)
    assert all(task.done() for task in tasks)


async def test_woken_producer_reports_closed_outcome(events, until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, event_emitter=events)
    await queue.put(0)
    producer = asyncio.create_task(queue.put(1))
    await until(lambda: queue.statistics().waiting_putters == 1)
    await queue.close()
    async with asyncio.timeout(5):
        with pytest.raises(QueueClosed):
            await producer
    assert events.payloads("stream.producer_unblocked")[0]["outcome"] == "closed"


async def test_consumers_drain_the_remaining_items_after_close() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    for i in range(5):
        await queue.put(i)
    await queue.close()
    async with asyncio.timeout(5):
        assert [item async for item in queue] == [0, 1, 2, 3, 4]


async def test_many_consumers_share_the_remaining_items_and_all_end(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(100)

    async def consume() -> list[int]:
        return [item async for item in queue]

    consumers = [asyncio.create_task(consume()) for _ in range(4)]
    await until(lambda: queue.statistics().waiting_getters == 4)
    for i in range(40):
        await queue.put(i)
    await queue.close()
    async with asyncio.timeout(5):
        received = await asyncio.gather(*consumers)
    assert sorted(item for part in received for item in part) == list(range(40))


async def test_get_returns_none_after_close_and_drain() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    await queue.put(1)
    await queue.close()
    async with asyncio.timeout(5):
        assert [await queue.get(), await queue.get()] == [1, None]


async def test_async_iteration_ends_when_closed_while_waiting(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)

    async def consume() -> list[int]:
        return [item async for item in queue]

    consumer = asyncio.create_task(consume())
    await until(lambda: queue.statistics().waiting_getters == 1)
    await queue.put(7)
    await until(lambda: len(queue) == 0 and queue.statistics().waiting_getters == 1)
    await queue.close()
    async with asyncio.timeout(5):
        assert await consumer == [7]


def test_a_waiter_left_on_a_closed_event_loop_does_not_break_later_puts() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)

    async def abandon_a_consumer() -> None:
        asyncio.get_running_loop().create_task(queue.get())
        await asyncio.sleep(0)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(abandon_a_consumer())
    loop.close()  # the consumer task is left pending on a closed loop
    assert queue.statistics().waiting_getters == 1
    assert queue.put_nowait(1) is True
    assert queue.get_nowait() == 1
