"""Playout consumer: real-time reads, underrun episodes, recovery time, frame integrity."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from stageflow.helpers.streaming import AudioChunk, StreamingBuffer

from mocks.consumers import playout_consumer
from mocks.signals import generate
from mocks.trace import Trace

FRAME = 2  # pcm_16 mono
READ = 320 * FRAME  # 20 ms at 16 kHz


class ScriptedBuffer:
    """Each read returns the next scripted byte count (what a real buffer had)."""

    def __init__(self, sizes: list[int], ready_after: int = 0) -> None:
        self.sizes = list(sizes)
        self.asked: list[float] = []
        self.ready_polls = 0
        self.ready_after = ready_after
        self.duration_ms = 0.0

    def read(self, duration_ms: float) -> bytes:
        self.asked.append(duration_ms)
        return bytes(self.sizes.pop(0))

    def is_ready(self) -> bool:
        self.ready_polls += 1
        return self.ready_polls > self.ready_after


async def _play(buffer: Any, clock: Any, duration_ms: float, **kwargs: Any) -> Any:
    async with asyncio.timeout(5):
        return await playout_consumer(
            buffer, trace=Trace(), read_ms=20, duration_ms=duration_ms, sample_rate=16_000,
            channels=1, clock=clock, sleep=clock.sleep, **kwargs)


async def test_one_underrun_episode_with_its_missing_audio_and_recovery(clock: Any) -> None:
    buffer = ScriptedBuffer([READ, READ, READ // 2, 0, READ, READ])
    report = await _play(buffer, clock, 120)
    assert buffer.asked == [20] * 6
    assert (report.reads, report.short_reads, report.underruns) == (6, 2, 1)
    assert report.underrun_ms == pytest.approx(30.0)  # 10 ms short, then 20 ms missing
    assert report.recovery_ms == (pytest.approx(40.0, abs=0.05),)  # tick 2 -> tick 4
    assert not report.unrecovered


async def test_separate_short_runs_count_as_separate_underruns(clock: Any) -> None:
    report = await _play(ScriptedBuffer([0, READ, 0, 0, READ]), clock, 100)
    assert (report.short_reads, report.underruns, len(report.recovery_ms)) == (3, 2, 2)


async def test_ending_in_an_underrun_is_reported_unrecovered(clock: Any) -> None:
    report = await _play(ScriptedBuffer([READ, 0, 0]), clock, 60)
    assert report.unrecovered
    assert report.max_recovery_ms is None


async def test_a_read_that_splits_a_frame_is_detected(clock: Any) -> None:
    report = await _play(ScriptedBuffer([READ, READ - 1, READ]), clock, 60)
    assert report.partial_frame_reads == 1
    assert not report.frames_intact
    assert report.short_reads == 1  # 319.5 frames is fewer whole frames than asked


async def test_reads_follow_the_wall_clock_not_the_previous_read(clock: Any) -> None:
    trace = Trace()
    start = clock()
    async with asyncio.timeout(5):
        await playout_consumer(ScriptedBuffer([READ] * 5), trace=trace, read_ms=20,
                               duration_ms=100, sample_rate=16_000, channels=1, clock=clock,
                               sleep=clock.sleep)
    ticks_ms = [(t - start) / 1e6 for t in trace.samples["playout.buffer_ms"]["t_ns"].tolist()]
    assert ticks_ms == pytest.approx([0, 20, 40, 60, 80], abs=0.011)


async def test_wait_ready_polls_until_ready_and_reports_startup(clock: Any) -> None:
    buffer = ScriptedBuffer([READ, READ], ready_after=3)
    report = await _play(buffer, clock, 40, wait_ready=True, ready_timeout_ms=500)
    assert report.startup_ms == pytest.approx(60.0, abs=0.05)
    assert (report.reads, report.underruns) == (2, 0)


async def test_wait_ready_gives_up_after_the_ready_timeout(clock: Any) -> None:
    buffer = ScriptedBuffer([0, 0], ready_after=1000)
    report = await _play(buffer, clock, 40, wait_ready=True, ready_timeout_ms=100)
    assert report.startup_ms == pytest.approx(100.0, abs=0.05)
    assert report.underruns == 1


async def test_against_the_peer_buffer_draining_without_refill_underruns_once(
    clock: Any,
) -> None:
    buffer = StreamingBuffer(target_duration_ms=40, max_duration_ms=1000, sample_rate=16_000)
    data = generate("tone", duration_ms=50, sample_rate=16_000, channels=1, fmt="pcm_16")
    buffer.add_chunk(AudioChunk(data=data, sample_rate=16_000))
    report = await _play(buffer, clock, 100)
    assert (report.reads, report.short_reads, report.underruns) == (5, 3, 1)
    assert report.bytes_read == len(data)
    assert report.underrun_ms == pytest.approx(50.0)
    assert report.unrecovered


async def test_a_read_shorter_than_a_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="read_ms"):
        await playout_consumer(ScriptedBuffer([]), trace=Trace(), read_ms=0.01, duration_ms=10,
                               sample_rate=16_000, channels=1)
