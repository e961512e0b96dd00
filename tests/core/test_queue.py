"""ChunkQueue: puts, gets, overflow policies, telemetry, statistics, argument checks."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from dataclasses import dataclass

import pytest

from stageflow_core import (
    BackpressureStats,
    ChunkQueue,
    OverflowPolicy,
    QueueClosed,
    QueueEmpty,
    QueueFull,
)

pytestmark = pytest.mark.timeout(10)


@dataclass(frozen=True)
class Seq:
    sequence: int


# -- basics ----------------------------------------------------------------------------


async def test_items_come_out_in_put_order() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    for i in range(1, 6):
        assert await queue.put(i) is True
    async with asyncio.timeout(5):
        assert [await queue.get() for _ in range(5)] == [1, 2, 3, 4, 5]


async def test_len_counts_queued_items() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert len(queue) == 2


def test_put_none_is_refused_with_type_error_explaining_end_of_stream() -> None:
    queue: ChunkQueue[object] = ChunkQueue(10)
    with pytest.raises(TypeError, match="end of stream"):
        queue.put_nowait(None)
    assert len(queue) == 0


async def test_put_none_on_full_queue_is_refused_without_waiting() -> None:
    queue: ChunkQueue[object] = ChunkQueue(1)
    queue.put_nowait(1)
    async with asyncio.timeout(5):
        with pytest.raises(TypeError, match="end of stream"):
            await queue.put(None)


def test_get_nowait_on_empty_open_queue_raises_queue_empty() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    with pytest.raises(QueueEmpty):
        queue.get_nowait()


def test_queue_empty_is_an_asyncio_queue_empty() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


def test_get_nowait_on_closed_drained_queue_returns_none_every_time() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    queue.close_nowait()
    assert [queue.get_nowait(), queue.get_nowait()] == [None, None]


def test_queue_is_generic() -> None:
    queue = ChunkQueue[int](3)
    assert queue.max_size == 3


# -- block policy ----------------------------------------------------------------------


async def test_put_on_full_queue_with_timeout_raises_queue_full() -> None:
    queue: ChunkQueue[int] = ChunkQueue(1)
    await queue.put(1)
    async with asyncio.timeout(5):
        with pytest.raises(QueueFull):
            await queue.put(2, timeout=0.01)
    assert len(queue) == 1


async def test_queue_full_is_an_asyncio_queue_full() -> None:
    queue: ChunkQueue[int] = ChunkQueue(1)
    await queue.put(1)
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.QueueFull):
            await queue.put(2, timeout=0)


async def test_put_with_zero_timeout_on_full_queue_fails_without_waiting(events) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, event_emitter=events)
    await queue.put(1)
    async with asyncio.timeout(5):
        with pytest.raises(QueueFull):
            await queue.put(2, timeout=0)
    assert "stream.producer_blocked" not in events.names()
    assert queue.statistics().timeouts == 1


async def test_timed_out_put_emits_producer_timeout(events) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, event_emitter=events)
    await queue.put(1)
    async with asyncio.timeout(5):
        with pytest.raises(QueueFull):
            await queue.put(2, timeout=0.01)
    (payload,) = events.payloads("stream.producer_timeout")
    assert payload["timeout_s"] == 0.01
    assert payload["queue_size"] == 1


async def test_put_with_timeout_succeeds_when_room_appears_in_time(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1)
    await queue.put(1)
    producer = asyncio.create_task(queue.put(2, timeout=30))
    await until(lambda: queue.statistics().waiting_putters == 1)
    assert queue.get_nowait() == 1
    async with asyncio.timeout(5):
        assert await producer is True
    assert queue.get_nowait() == 2


def test_put_nowait_on_full_blocking_queue_raises_queue_full() -> None:
    queue: ChunkQueue[int] = ChunkQueue(1)
    queue.put_nowait(1)
    with pytest.raises(QueueFull):
        queue.put_nowait(2)
    assert queue.statistics().rejected == 1


async def test_producer_blocked_is_emitted_before_the_put_completes(events, until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, event_emitter=events)
    await queue.put(1)
    producer = asyncio.create_task(queue.put(2))
    await until(lambda: queue.statistics().waiting_putters == 1)
    assert events.payloads("stream.producer_blocked") == [
        {"queue_size": 1, "max_size": 1, "timeout_s": None}
    ]
    assert not producer.done()
    queue.get_nowait()
    async with asyncio.timeout(5):
        await producer


async def test_producer_unblocked_reports_blocked_time_and_outcome(events, until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, event_emitter=events)
    await queue.put(1)
    producer = asyncio.create_task(queue.put(2))
    await until(lambda: queue.statistics().waiting_putters == 1)
    queue.get_nowait()
    async with asyncio.timeout(5):
        await producer
    (payload,) = events.payloads("stream.producer_unblocked")
    assert payload["outcome"] == "room"
    assert payload["blocked_ms"] >= 0.0


async def test_blocked_put_is_counted_in_statistics_while_it_waits(until) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1)
    await queue.put(1)
    producer = asyncio.create_task(queue.put(2))
    await until(lambda: queue.statistics().waiting_putters == 1)
    assert queue.statistics().blocked_puts == 1
    assert queue.monitor.stats.blocked_puts == 1
    queue.get_nowait()
    async with asyncio.timeout(5):
        await producer


# -- drop and reject policies ----------------------------------------------------------


async def test_drop_oldest_evicts_the_oldest_item_and_queues_the_new_one() -> None:
    queue: ChunkQueue[int] = ChunkQueue(2, overflow="drop_oldest")
    for i in (1, 2, 3):
        assert await queue.put(i) is True
    assert [queue.get_nowait(), queue.get_nowait()] == [2, 3]


async def test_drop_oldest_reports_the_evicted_items_sequence(events) -> None:
    queue: ChunkQueue[Seq] = ChunkQueue(2, overflow="drop_oldest", event_emitter=events)
    for i in (1, 2, 3):
        await queue.put(Seq(i))
    assert events.payloads("stream.chunk_dropped") == [
        {"reason": "drop_oldest", "queue_size": 2, "max_size": 2, "sequence": 1}
    ]


def test_drop_on_overflow_true_means_drop_oldest() -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, drop_on_overflow=True)
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert queue.overflow is OverflowPolicy.DROP_OLDEST
    assert queue.get_nowait() == 2


async def test_drop_newest_discards_the_new_item_and_returns_false(events) -> None:
    queue: ChunkQueue[Seq] = ChunkQueue(1, overflow="drop_newest", event_emitter=events)
    assert await queue.put(Seq(1)) is True
    assert await queue.put(Seq(2)) is False
    assert queue.get_nowait() == Seq(1)
    assert events.payloads("stream.chunk_dropped") == [
        {"reason": "drop_newest", "queue_size": 1, "max_size": 1, "sequence": 2}
    ]


def test_drop_event_has_no_sequence_for_items_without_one(events) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, overflow="drop_newest", event_emitter=events)
    queue.put_nowait(1)
    queue.put_nowait(2)
    (payload,) = events.payloads("stream.chunk_dropped")
    assert "sequence" not in payload


def test_drops_are_counted_by_reason() -> None:
    oldest: ChunkQueue[int] = ChunkQueue(1, overflow="drop_oldest")
    newest: ChunkQueue[int] = ChunkQueue(1, overflow="drop_newest")
    for queue in (oldest, newest):
        for i in (1, 2, 3):
            queue.put_nowait(i)
    assert oldest.statistics().dropped_by_reason == {"drop_oldest": 2, "drop_newest": 0}
    assert newest.statistics().dropped_by_reason == {"drop_oldest": 0, "drop_newest": 2}
    assert oldest.monitor.stats.dropped_items == 2


async def test_reject_raises_queue_full_at_once_and_keeps_the_queue(events) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, overflow="reject", event_emitter=events)
    await queue.put(1)
    async with asyncio.timeout(5):
        with pytest.raises(QueueFull):
            await queue.put(2)
    assert queue.get_nowait() == 1
    assert "stream.producer_blocked" not in events.names()
    assert queue.statistics().rejected == 1


# -- after close -----------------------------------------------------------------------


async def test_put_after_close_raises_queue_closed() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    await queue.close()
    async with asyncio.timeout(5):
        with pytest.raises(QueueClosed):
            await queue.put(1)
    assert queue.statistics().closed_refusals == 1


def test_put_nowait_after_close_raises_queue_closed() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10, overflow="drop_oldest")
    queue.close_nowait()
    with pytest.raises(QueueClosed):
        queue.put_nowait(1)


async def test_close_emits_final_counters(events) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, overflow="drop_newest", event_emitter=events)
    queue.put_nowait(1)
    queue.put_nowait(2)
    await queue.close()
    (payload,) = events.payloads("stream.queue_closed")
    assert payload["total_items"] == 1
    assert payload["dropped_items"] == 1
    assert payload["remaining"] == 1


async def test_close_is_idempotent(events) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10, event_emitter=events)
    await queue.close()
    await queue.close()
    assert events.names().count("stream.queue_closed") == 1


# -- throttle hysteresis ---------------------------------------------------------------


def test_throttle_starts_at_the_high_water_mark(events) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10, event_emitter=events)
    for i in range(7):
        queue.put_nowait(i)
    assert not queue.monitor.should_throttle()
    queue.put_nowait(7)
    assert queue.monitor.should_throttle()
    assert events.payloads("stream.throttle_started") == [
        {"fill_percentage": 80.0, "queue_size": 8}
    ]


def test_throttle_ends_while_the_consumer_drains(events) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10, event_emitter=events)
    for i in range(8):
        queue.put_nowait(i)
    for _ in range(5):
        queue.get_nowait()
    assert queue.monitor.should_throttle()  # 3 left: 30 % is above the low-water mark
    queue.get_nowait()
    assert not queue.monitor.should_throttle()
    assert events.payloads("stream.throttle_ended") == [
        {"fill_percentage": 20.0, "queue_size": 2}
    ]


def test_throttle_hysteresis_does_not_restart_between_the_marks(events) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10, event_emitter=events)
    for i in range(8):
        queue.put_nowait(i)
    queue.get_nowait()
    queue.put_nowait(8)
    queue.get_nowait()
    queue.put_nowait(9)
    assert events.names().count("stream.throttle_started") == 1
    assert queue.statistics().throttle_starts == 1


def test_custom_water_marks_apply_to_the_queue() -> None:
    queue: ChunkQueue[int] = ChunkQueue(4, high_water_mark=50, low_water_mark=0)
    queue.put_nowait(1)
    assert not queue.monitor.should_throttle()
    queue.put_nowait(2)
    assert queue.monitor.should_throttle()
    queue.get_nowait()
    assert queue.monitor.should_throttle()
    queue.get_nowait()
    assert not queue.monitor.should_throttle()


# -- telemetry isolation ---------------------------------------------------------------


def _raising_emitter(name: str, payload: dict[str, object]) -> None:
    raise RuntimeError(f"observer broke on {name}")


def test_raising_emitter_never_breaks_the_data_path() -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, overflow="drop_oldest", event_emitter=_raising_emitter)
    queue.put_nowait(1)
    queue.put_nowait(2)  # drop + throttle events both raise
    assert queue.get_nowait() == 2


def test_raising_emitter_is_counted(caplog) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, overflow="drop_oldest", event_emitter=_raising_emitter)
    with caplog.at_level(logging.ERROR, logger="stageflow_core"):
        for i in range(4):
            queue.put_nowait(i)
    assert queue.statistics().emitter_errors == 4  # throttle start + 3 drops


def test_raising_emitter_is_logged_once(caplog) -> None:
    queue: ChunkQueue[int] = ChunkQueue(1, overflow="drop_oldest", event_emitter=_raising_emitter)
    with caplog.at_level(logging.ERROR, logger="stageflow_core"):
        for i in range(4):
            queue.put_nowait(i)
    assert len([r for r in caplog.records if r.name == "stageflow_core"]) == 1


# -- statistics and monitor ------------------------------------------------------------


async def test_statistics_count_puts_gets_and_the_high_water_mark() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    for i in range(6):
        await queue.put(i)
    async with asyncio.timeout(5):
        for _ in range(4):
            await queue.get()
    await queue.put(6)
    stats = queue.statistics()
    assert (stats.size, stats.total_put, stats.total_got, stats.peak_size) == (3, 7, 4, 6)


def test_statistics_snapshot_is_frozen() -> None:
    stats = ChunkQueue[int](10).statistics()
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.size = 3  # type: ignore[misc]


def test_statistics_snapshot_does_not_change_with_the_queue() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    before = queue.statistics()
    queue.put_nowait(1)
    assert before.size == 0
    assert queue.statistics().size == 1


def test_monitor_stats_keep_the_reference_shape() -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    for i in range(3):
        queue.put_nowait(i)
    stats = queue.monitor.stats
    assert isinstance(stats, BackpressureStats)
    assert (stats.total_items, stats.max_queue_size) == (3, 3)
    assert queue.monitor.fill_percentage == 30.0


# -- argument checks -------------------------------------------------------------------


@pytest.mark.parametrize("max_size", [0, -1])
def test_max_size_below_one_is_refused(max_size: int) -> None:
    with pytest.raises(ValueError, match="max_size"):
        ChunkQueue(max_size)


@pytest.mark.parametrize("max_size", ["10", 10.0, True])
def test_max_size_must_be_an_int(max_size: object) -> None:
    with pytest.raises(TypeError, match="max_size"):
        ChunkQueue(max_size)  # type: ignore[arg-type]


def test_unknown_overflow_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="overflow"):
        ChunkQueue(10, overflow="drop_random")


def test_contradictory_drop_on_overflow_and_overflow_are_refused() -> None:
    with pytest.raises(ValueError, match="drop_on_overflow"):
        ChunkQueue(10, drop_on_overflow=True, overflow="block")


def test_non_callable_emitter_is_refused() -> None:
    with pytest.raises(TypeError, match="event_emitter"):
        ChunkQueue(10, event_emitter="print")  # type: ignore[arg-type]


def test_inverted_water_marks_are_refused() -> None:
    with pytest.raises(ValueError, match="low_water_mark"):
        ChunkQueue(10, high_water_mark=20, low_water_mark=80)


@pytest.mark.parametrize("timeout", [-1.0, math.nan])
async def test_bad_put_timeout_is_refused(timeout: float) -> None:
    queue: ChunkQueue[int] = ChunkQueue(10)
    with pytest.raises(ValueError, match="timeout"):
        await queue.put(1, timeout=timeout)
    assert len(queue) == 0
