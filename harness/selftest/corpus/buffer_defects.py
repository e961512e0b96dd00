"""Seeded audio defects: each a small subclass of a clean buffer (or chunk) that breaks one
clause, modelled on defects found in real streaming code (frame rounding, bounds, level
accounting, per-format durations, overflow and underrun events, validation)."""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.selftest.corpus._base import Breaks, CorpusTarget, derived_target
from harness.selftest.corpus.clean import (
    OURS,
    PLAIN_BUFFER_SEMANTICS,
    PlainBuffer,
    plain_buffer,
)
from harness.targets import ModuleTarget
from stageflow_core import AudioChunk, AudioFormat, StreamingBuffer

__all__ = [
    "buffer_bound_one_frame_over",
    "level_forgets_clear",
    "level_forgets_reads",
    "mismatched_rate_accepted",
    "overflow_without_event",
    "oversized_keeps_oldest",
    "pcm24_as_two_bytes",
    "read_rounds_bytes",
    "trim_clears_everything",
    "trim_rounds_bytes",
    "underrun_never_recovered",
    "underrun_without_event",
]


def _ours(name: str, breaks: Breaks, **classes: Any) -> ModuleTarget:
    return derived_target(f"selftest:{name}", semantics=OURS, breaks=breaks, **classes)


def _plain(name: str, buffer_cls: type, breaks: Breaks) -> CorpusTarget:
    target = plain_buffer()
    target.name = f"selftest:{name}"
    target._buffer_cls = buffer_cls
    target.semantics = PLAIN_BUFFER_SEMANTICS
    target.breaks = breaks
    return target


# --- frames and bounds (on the buffer that promises nothing: universal clauses only) --------

class ReadRoundsBytes(PlainBuffer):
    def read(self, duration_ms: float = 20) -> bytes:
        wanted = int(duration_ms * self._rate / 1000 * self._frame)  # the defect: bytes
        out = bytes(self._data[:wanted])
        del self._data[:len(out)]
        return out


def read_rounds_bytes() -> CorpusTarget:
    return _plain("read_rounds_bytes", ReadRoundsBytes, Breaks(
        "reads are whole frames", "StreamingBuffer", "whole_frames", ("read",),
        "read(ms) rounds to bytes, not frames: stereo or odd rates get torn frames"))


class TrimRoundsBytes(PlainBuffer):
    def __init__(self, *, max_duration_ms: float = 500, sample_rate: int = 16000,
                 channels: int = 1, **kwargs: Any) -> None:
        super().__init__(max_duration_ms=max_duration_ms, sample_rate=sample_rate,
                         channels=channels, **kwargs)
        # the defect: capacity and trim counted in bytes, never rounded to whole frames
        self._max = int(max_duration_ms * sample_rate / 1000 * self._frame)

    def add_chunk(self, chunk: Any) -> int:
        self._data += chunk.data
        excess = len(self._data) - self._max
        if excess <= 0:
            return 0
        del self._data[:excess]
        return excess


def trim_rounds_bytes() -> CorpusTarget:
    return _plain("trim_rounds_bytes", TrimRoundsBytes, Breaks(
        "overflow trims whole frames", "StreamingBuffer", "whole_frames",
        ("add_chunk (overflow trim)", "read"),
        "an overflow trim of a byte count that is not whole frames"))


class BufferBoundOneFrameOver(PlainBuffer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max += self._frame  # the defect: the bound rounded up, not down


def buffer_bound_one_frame_over() -> CorpusTarget:
    return _plain("buffer_bound_one_frame_over", BufferBoundOneFrameOver, Breaks(
        "the buffer never holds more than max_duration_ms", "StreamingBuffer", "bounds", (),
        "capacity rounded up: the buffer holds one frame more than its bound"))


# --- accounting, events, validation (on ours: declared clauses) ----------------------------

class LevelForgetsClear(StreamingBuffer):
    @property
    def current_bytes(self) -> int:  # the defect: bytes cleared are not subtracted
        return self._total_received - self._total_read - self._total_dropped

    @property
    def current_ms(self) -> float:
        return self.current_bytes / self._frame / self._rate * 1000.0


def level_forgets_clear() -> ModuleTarget:
    return _ours("level_forgets_clear", Breaks(
        "the buffer's level is what it holds", "StreamingBuffer", "level", ("clear",),
        "the level query is wrong after clear()"), StreamingBuffer=LevelForgetsClear)


class LevelForgetsReads(StreamingBuffer):
    @property
    def current_bytes(self) -> int:  # the defect: bytes read are not subtracted
        return self._total_received - self._total_dropped - self._total_cleared

    @property
    def current_ms(self) -> float:
        return self.current_bytes / self._frame / self._rate * 1000.0


def level_forgets_reads() -> ModuleTarget:
    return _ours("level_forgets_reads", Breaks(
        "the buffer's level is what it holds", "StreamingBuffer", "level", (),
        "the level query does not go down when audio is read"),
        StreamingBuffer=LevelForgetsReads)


class _Filtered:
    """An emitter that loses one event name (the defect's mechanism)."""

    def __init__(self, emit: Any, lost: str) -> None:
        self._emit = emit
        self._lost = lost

    def emit(self, name: str, payload: dict[str, Any]) -> None:
        if name != self._lost:
            self._emit.emit(name, payload)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._emit, name)


class OverflowWithoutEvent(StreamingBuffer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self._emit is not None:
            self._emit = _Filtered(self._emit, "stream.buffer_overflow")


def overflow_without_event() -> ModuleTarget:
    return _ours("overflow_without_event", Breaks(
        "buffer.overflow_events", "StreamingBuffer", "no_silent_drop", (),
        "audio trimmed on overflow with no stream.buffer_overflow event"),
        StreamingBuffer=OverflowWithoutEvent)


class UnderrunNeverRecovered(StreamingBuffer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self._emit is not None:
            self._emit = _Filtered(self._emit, "stream.buffer_recovered")


def underrun_never_recovered() -> ModuleTarget:
    return _ours("underrun_never_recovered", Breaks(
        "buffer.underrun_events", "StreamingBuffer", "underrun_visible", (),
        "an underrun that is never reported as recovered"),
        StreamingBuffer=UnderrunNeverRecovered)


class UnderrunWithoutEvent(StreamingBuffer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self._emit is not None:
            self._emit = _Filtered(self._emit, "stream.buffer_underrun")


def underrun_without_event() -> ModuleTarget:
    return _ours("underrun_without_event", Breaks(
        "buffer.underrun_events", "StreamingBuffer", "underrun_visible", (),
        "a short read with no stream.buffer_underrun event"),
        StreamingBuffer=UnderrunWithoutEvent)


class MismatchedRateAccepted(StreamingBuffer):
    def add_chunk(self, chunk: Any) -> int:
        if getattr(chunk, "sample_rate", None) != self._rate:  # the defect: rate not checked
            chunk = dataclasses.replace(chunk, sample_rate=self._rate)
        return super().add_chunk(chunk)


def mismatched_rate_accepted() -> ModuleTarget:
    return _ours("mismatched_rate_accepted", Breaks(
        "buffer.validates_chunks", "StreamingBuffer", "bad_input_refused",
        ("add_chunk (mismatched stream)",),
        "a chunk of another sample rate mixed into the stream (Stageflow 0.5.1)"),
        StreamingBuffer=MismatchedRateAccepted)


class OversizedKeepsOldest(StreamingBuffer):
    def add_chunk(self, chunk: Any) -> int:
        data = getattr(chunk, "data", b"")
        if len(data) > self._max_bytes:  # the defect: keeps the head, not the newest part
            chunk = dataclasses.replace(chunk, data=bytes(data[:self._max_bytes]))
        return super().add_chunk(chunk)


def oversized_keeps_oldest() -> ModuleTarget:
    return _ours("oversized_keeps_oldest", Breaks(
        "an oversized chunk keeps its newest part", "StreamingBuffer", "integrity", (),
        "an oversized chunk truncated to its oldest audio"),
        StreamingBuffer=OversizedKeepsOldest)


class TrimClearsEverything(StreamingBuffer):
    def add_chunk(self, chunk: Any) -> int:
        data = getattr(chunk, "data", b"")
        if 0 < len(data) < self._max_bytes and self._size + len(data) > self._max_bytes:
            held = self._size  # the defect: overflow flushes the buffer, not the excess
            self._size = 0
            self._head = 0
            return held + super().add_chunk(chunk)
        return super().add_chunk(chunk)


def trim_clears_everything() -> ModuleTarget:
    return _ours("trim_clears_everything", Breaks(
        "overflow drops only what the bound requires", "StreamingBuffer", "minimal_trim", (),
        "overflow flushes everything buffered instead of the oldest excess"),
        StreamingBuffer=TrimClearsEverything)


# --- durations --------------------------------------------------------------------------

@dataclasses.dataclass
class Pcm24AsTwoBytes(AudioChunk):
    @property
    def duration_ms(self) -> float:
        if self.format is AudioFormat.PCM_24:  # the defect: 24-bit samples counted as 2 bytes
            return len(self.data) / (2 * self.channels) / self.sample_rate * 1000.0
        return AudioChunk.duration_ms.fget(self)  # type: ignore[attr-defined]


def pcm24_as_two_bytes() -> ModuleTarget:
    return _ours("pcm24_as_two_bytes", Breaks(
        "durations are right for the format", "AudioChunk", "duration",
        ("duration_ms (pcm_24)",), "PCM_24 audio timed as 2 bytes per sample"),
        AudioChunk=Pcm24AsTwoBytes)
