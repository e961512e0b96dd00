"""StreamingAudioDuplex: inbound queue, outbound playback, barge-in, one close."""

from __future__ import annotations

import asyncio

import pytest

from stageflow_core import AudioChunk, QueueClosed, StreamingAudioDuplex

pytestmark = pytest.mark.timeout(10)


def mono16(ms: int, sequence: int = 0) -> AudioChunk:
    return AudioChunk(data=bytes(32 * ms), sequence=sequence)


async def test_input_flows_from_mic_to_pipeline_in_order() -> None:
    duplex = StreamingAudioDuplex()
    for i in range(3):
        await duplex.send_input(mono16(20, sequence=i))
    async with asyncio.timeout(5):
        received = [await duplex.receive_input() for _ in range(3)]
    assert [c.sequence for c in received if c is not None] == [0, 1, 2]


async def test_output_flows_from_pipeline_to_speaker() -> None:
    duplex = StreamingAudioDuplex()
    duplex.write_output(AudioChunk(data=bytes(range(64))))
    assert duplex.read_output(1) == bytes(range(32))


def test_interrupt_flushes_pending_playback(events) -> None:
    duplex = StreamingAudioDuplex(event_emitter=events)
    duplex.write_output(mono16(100))
    assert duplex.interrupt() == 3200
    assert duplex.outbound.current_bytes == 0
    assert events.payloads("stream.playback_interrupted") == [
        {"bytes_flushed": 3200, "duration_ms_flushed": 100.0}
    ]


def test_interruptions_are_counted_in_statistics() -> None:
    duplex = StreamingAudioDuplex()
    duplex.write_output(mono16(100))
    duplex.interrupt()
    duplex.interrupt()
    stats = duplex.statistics()
    assert (stats.interruptions, stats.bytes_flushed) == (2, 3200)


def test_interrupt_keeps_pending_input() -> None:
    duplex = StreamingAudioDuplex()
    duplex.send_input_nowait(mono16(20))
    duplex.write_output(mono16(20))
    duplex.interrupt()
    assert len(duplex.inbound) == 1


async def test_close_lets_the_pipeline_drain_input_then_ends_it() -> None:
    duplex = StreamingAudioDuplex()
    await duplex.send_input(mono16(20, sequence=5))
    await duplex.close()
    async with asyncio.timeout(5):
        first = await duplex.receive_input()
        assert first is not None and first.sequence == 5
        assert await duplex.receive_input() is None


async def test_send_input_after_close_raises_queue_closed() -> None:
    duplex = StreamingAudioDuplex()
    await duplex.close()
    with pytest.raises(QueueClosed):
        await duplex.send_input(mono16(20))


async def test_write_output_after_close_raises_queue_closed() -> None:
    duplex = StreamingAudioDuplex()
    await duplex.close()
    with pytest.raises(QueueClosed):
        duplex.write_output(mono16(20))


async def test_pending_playback_stays_readable_after_close() -> None:
    duplex = StreamingAudioDuplex()
    duplex.write_output(mono16(20))
    await duplex.close()
    assert len(duplex.read_output(20)) == 640


async def test_close_wakes_a_waiting_pipeline(until) -> None:
    duplex = StreamingAudioDuplex()
    pipeline = asyncio.create_task(duplex.receive_input())
    await until(lambda: duplex.inbound.statistics().waiting_getters == 1)
    await duplex.close()
    async with asyncio.timeout(5):
        assert await pipeline is None


def test_input_in_another_format_is_refused() -> None:
    duplex = StreamingAudioDuplex(sample_rate=16000)
    with pytest.raises(ValueError, match="refused"):
        duplex.send_input_nowait(AudioChunk(data=bytes(64), sample_rate=8000))
    assert len(duplex.inbound) == 0


def test_statistics_cover_both_directions() -> None:
    duplex = StreamingAudioDuplex()
    duplex.send_input_nowait(mono16(20))
    duplex.write_output(mono16(30))
    stats = duplex.statistics()
    assert (stats.inbound.size, stats.outbound.size_bytes, stats.closed) == (1, 960, False)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"inbound_max_chunks": 0}, "inbound_max_chunks"),
        ({"playback_target_ms": -5}, "playback_target_ms"),
        ({"playback_target_ms": 500, "playback_max_ms": 100}, "playback_target_ms"),
        ({"inbound_overflow": "drop_all"}, "overflow"),
        ({"sample_rate": 0}, "sample_rate"),
    ],
)
def test_bad_session_arguments_are_refused(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        StreamingAudioDuplex(**kwargs)
