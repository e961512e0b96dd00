"""StreamingBuffer: whole frames, bounded, refuses mismatched audio, level queries, events."""

from __future__ import annotations

import dataclasses
import math

import pytest

from stageflow_core import AudioChunk, AudioFormat, StreamingBuffer


def pcm(n_bytes: int, start: int = 0) -> bytes:
    """Distinct, recognisable bytes so that trims and reads can be checked by content."""
    return bytes((start + i) % 251 for i in range(n_bytes))


def chunk(data: bytes, rate: int = 16000, channels: int = 1,
          fmt: AudioFormat = AudioFormat.PCM_16) -> AudioChunk:
    return AudioChunk(data=data, sample_rate=rate, channels=channels, format=fmt)


def mono16(ms: float, start: int = 0) -> AudioChunk:
    """``ms`` of 16 kHz mono PCM_16 (32 bytes per ms)."""
    return chunk(pcm(int(ms * 32), start))


# -- bounds ----------------------------------------------------------------------------


def test_buffer_never_holds_more_than_max_duration() -> None:
    buf = StreamingBuffer(target_duration_ms=0, max_duration_ms=100)
    for i in range(50):
        buf.add_chunk(mono16(7, start=i))
        assert buf.current_bytes <= 100 * 32
    assert buf.is_full()


def test_overflow_trims_exactly_the_oldest_excess() -> None:
    buf = StreamingBuffer(target_duration_ms=0, max_duration_ms=100)
    first, second = pcm(80 * 32, 0), pcm(40 * 32, 7)
    buf.add_chunk(chunk(first))
    assert buf.add_chunk(chunk(second)) == 20 * 32
    assert buf.current_ms == 100.0
    assert buf.read(100) == first[20 * 32:] + second


def test_overflow_emits_an_event_and_is_counted(events) -> None:
    buf = StreamingBuffer(target_duration_ms=0, max_duration_ms=100, event_emitter=events)
    buf.add_chunk(mono16(80))
    buf.add_chunk(mono16(40))
    assert events.payloads("stream.buffer_overflow") == [
        {"bytes_dropped": 640, "buffer_duration_ms": 100.0, "max_duration_ms": 100.0}
    ]
    stats = buf.statistics()
    assert (stats.overflow_events, stats.total_dropped) == (1, 640)


def test_oversized_chunk_keeps_only_its_newest_part() -> None:
    buf = StreamingBuffer(target_duration_ms=0, max_duration_ms=100)
    buf.add_chunk(mono16(30))
    big = pcm(250 * 32, 3)
    assert buf.add_chunk(chunk(big)) == 30 * 32 + 150 * 32
    assert buf.read(1000) == big[-100 * 32:]


def test_max_duration_is_rounded_down_to_whole_frames() -> None:
    buf = StreamingBuffer(target_duration_ms=0, max_duration_ms=1.0, sample_rate=22050,
                          channels=2)
    assert buf.max_bytes == 22 * 4  # 22.05 frames -> 22 whole frames


# -- whole frames ----------------------------------------------------------------------


def test_read_rounds_down_to_whole_frames_at_22050_hz_stereo() -> None:
    buf = StreamingBuffer(target_duration_ms=0, sample_rate=22050, channels=2)
    buf.add_chunk(chunk(pcm(4 * 2205), rate=22050, channels=2))  # 100 ms
    data = buf.read(10)  # 220.5 frames
    assert len(data) == 220 * 4


def test_reads_at_22050_hz_stereo_keep_the_stream_frame_aligned() -> None:
    buf = StreamingBuffer(target_duration_ms=0, sample_rate=22050, channels=2)
    audio = pcm(4 * 2205)
    buf.add_chunk(chunk(audio, rate=22050, channels=2))
    out = b"".join(buf.read(10) for _ in range(12))
    assert out == audio[: len(out)]
    assert len(out) % 4 == 0
    assert buf.current_bytes % 4 == 0


def test_chunk_with_a_partial_frame_is_refused_and_buffer_unchanged() -> None:
    buf = StreamingBuffer(target_duration_ms=0, channels=2)
    buf.add_chunk(chunk(pcm(40), channels=2))
    with pytest.raises(ValueError, match="whole number"):
        buf.add_chunk(chunk(pcm(6), channels=2))
    assert buf.read(1000) == pcm(40)


@pytest.mark.parametrize(
    "changes",
    [{"rate": 8000}, {"channels": 2}, {"fmt": AudioFormat.PCM_32}],
    ids=["sample_rate", "channels", "format"],
)
def test_mismatched_chunk_is_refused_and_buffer_unchanged(changes: dict) -> None:
    buf = StreamingBuffer(target_duration_ms=0)
    buf.add_chunk(mono16(10))
    before = buf.statistics()
    with pytest.raises(ValueError, match="refused"):
        buf.add_chunk(chunk(pcm(64), **changes))
    assert buf.statistics() == before


def test_non_chunk_is_refused_with_type_error() -> None:
    with pytest.raises(TypeError, match="AudioChunk"):
        StreamingBuffer().add_chunk(b"\x00\x00")  # type: ignore[arg-type]


@pytest.mark.parametrize(("fmt", "frame"), [(AudioFormat.PCM_24, 3), (AudioFormat.PCM_32, 4),
                                            (AudioFormat.FLOAT_32, 4)])
def test_buffer_formats_size_frames_by_bytes_per_sample(fmt: AudioFormat, frame: int) -> None:
    buf = StreamingBuffer(target_duration_ms=0, sample_rate=8000, format=fmt)
    buf.add_chunk(chunk(pcm(80 * frame), rate=8000, fmt=fmt))
    assert buf.current_ms == 10.0
    assert len(buf.read(5)) == 40 * frame


# -- level -----------------------------------------------------------------------------


def test_current_ms_and_current_bytes_report_the_level() -> None:
    buf = StreamingBuffer(target_duration_ms=0)
    buf.add_chunk(mono16(50))
    buf.read(20)
    assert (buf.current_ms, buf.current_bytes, buf.duration_ms) == (30.0, 960, 30.0)


def test_is_ready_turns_true_at_the_target() -> None:
    buf = StreamingBuffer(target_duration_ms=40)
    buf.add_chunk(mono16(39))
    assert not buf.is_ready()
    buf.add_chunk(mono16(1))
    assert buf.is_ready()


def test_is_ready_is_reachable_when_target_equals_a_max_that_rounds_down() -> None:
    buf = StreamingBuffer(target_duration_ms=1.0, max_duration_ms=1.0, sample_rate=22050)
    buf.add_chunk(chunk(pcm(22 * 2), rate=22050))
    assert buf.is_ready()


def test_clear_empties_and_counts_what_it_discarded() -> None:
    buf = StreamingBuffer(target_duration_ms=0)
    buf.add_chunk(mono16(25))
    assert buf.clear() == 800
    assert buf.current_bytes == 0
    assert buf.statistics().total_cleared == 800


def test_stats_keep_the_reference_keys() -> None:
    buf = StreamingBuffer(target_duration_ms=10)
    buf.add_chunk(mono16(20))
    buf.read(5)
    stats = buf.stats
    assert {k: stats[k] for k in ("duration_ms", "bytes_buffered", "total_received",
                                  "total_read", "total_dropped", "is_ready",
                                  "underrun_active")} == {
        "duration_ms": 15.0, "bytes_buffered": 480, "total_received": 640,
        "total_read": 160, "total_dropped": 0, "is_ready": True, "underrun_active": False,
    }


def test_statistics_record_the_high_water_mark() -> None:
    buf = StreamingBuffer(target_duration_ms=0)
    buf.add_chunk(mono16(30))
    buf.read(20)
    buf.add_chunk(mono16(5))
    stats = buf.statistics()
    assert (stats.peak_bytes, stats.peak_duration_ms) == (960, 30.0)


def test_statistics_snapshot_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        StreamingBuffer().statistics().size_bytes = 1  # type: ignore[misc]


# -- ring buffer -----------------------------------------------------------------------


def test_audio_survives_wrapping_around_the_ring() -> None:
    buf = StreamingBuffer(target_duration_ms=0, max_duration_ms=3000)  # 96000-byte capacity
    sent = bytearray()
    received = bytearray()
    for i in range(40):
        data = pcm(7 * 32 * 20, start=i)  # 140 ms
        sent += data
        buf.add_chunk(chunk(data))
        received += buf.read(130)
    received += buf.read(10_000)
    assert received == sent


def test_audio_survives_the_ring_growing_while_wrapped() -> None:
    buf = StreamingBuffer(target_duration_ms=0, max_duration_ms=10_000)
    first, second, third = pcm(60_000, 1), pcm(40_000, 2), pcm(60_000, 3)
    buf.add_chunk(chunk(first))
    buf.read(50_000 / 32)
    buf.add_chunk(chunk(second))  # wraps around the initial allocation
    buf.add_chunk(chunk(third))  # forces a larger allocation
    assert buf.read(10_000) == first[50_000:] + second + third


# -- underrun --------------------------------------------------------------------------


def test_short_read_emits_one_underrun_per_episode(events) -> None:
    buf = StreamingBuffer(target_duration_ms=0, event_emitter=events)
    buf.add_chunk(mono16(10))
    assert len(buf.read(20)) == 320
    buf.read(20)
    assert events.payloads("stream.buffer_underrun") == [
        {"bytes_requested": 640, "bytes_available": 320, "buffer_duration_ms": 10.0}
    ]
    assert buf.statistics().short_reads == 2


def test_first_full_read_after_an_underrun_emits_recovered(events) -> None:
    buf = StreamingBuffer(target_duration_ms=0, event_emitter=events)
    buf.read(20)
    buf.add_chunk(mono16(30))
    buf.read(20)
    assert events.names() == ["stream.buffer_underrun", "stream.buffer_recovered"]
    assert not buf.stats["underrun_active"]


# -- argument checks -------------------------------------------------------------------


@pytest.mark.parametrize("duration", [-1.0, math.nan, math.inf])
def test_bad_read_duration_is_refused(duration: float) -> None:
    buf = StreamingBuffer(target_duration_ms=0)
    buf.add_chunk(mono16(10))
    with pytest.raises(ValueError, match="duration_ms"):
        buf.read(duration)
    assert buf.current_bytes == 320


def test_non_numeric_read_duration_is_refused() -> None:
    with pytest.raises(TypeError, match="duration_ms"):
        StreamingBuffer().read("20")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"target_duration_ms": -1}, "target_duration_ms"),
        ({"max_duration_ms": math.nan}, "max_duration_ms"),
        ({"target_duration_ms": 300, "max_duration_ms": 200}, "target_duration_ms"),
        ({"max_duration_ms": 0.01}, "max_duration_ms"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"channels": 0}, "channels"),
        ({"format": "mp3"}, "compressed"),
        ({"format": "pcm_12"}, "format"),
    ],
)
def test_bad_construction_arguments_are_refused(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        StreamingBuffer(**kwargs)


def test_sample_rate_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="sample_rate"):
        StreamingBuffer(sample_rate=16000.0)  # type: ignore[arg-type]
