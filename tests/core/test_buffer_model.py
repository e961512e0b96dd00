"""StreamingBuffer against a bytearray model over sample rates 8000-48000 Hz, mono and
stereo, PCM_16/24/32 and FLOAT_32, with arbitrary chunk sizes and read durations."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import stageflow_core.buffer as buffer_module
from stageflow_core import AudioChunk, AudioFormat, StreamingBuffer

PCM_FORMATS = [AudioFormat.PCM_16, AudioFormat.PCM_24, AudioFormat.PCM_32, AudioFormat.FLOAT_32]
BYTES_PER_SAMPLE = {AudioFormat.PCM_16: 2, AudioFormat.PCM_24: 3, AudioFormat.PCM_32: 4,
                    AudioFormat.FLOAT_32: 4}

# Durations on a 1/8 ms grid are exact in binary floating point, so the model can compute
# the frames of a read with exact fractions and must agree with the buffer to the byte.
# Chunks and reads of comparable size make the level random-walk, so the ring's head moves
# without the buffer emptying (an empty buffer restarts at the front of the ring).
grid_ms = st.integers(0, 8 * 40).map(lambda eighths: eighths / 8)


def exact_frames(duration_ms: float, sample_rate: int) -> int:
    return math.floor(Fraction(duration_ms) * sample_rate / 1000)


class BufferMachine(RuleBasedStateMachine):
    @initialize(
        sample_rate=st.integers(8000, 48000),
        channels=st.integers(1, 2),
        fmt=st.sampled_from(PCM_FORMATS),
        max_ms=st.integers(8, 8 * 300).map(lambda eighths: eighths / 8),
        seed=st.integers(0, 2**32 - 1),
        first_allocation=st.sampled_from([None, 48, 1000]),
    )
    def make_buffer(self, sample_rate: int, channels: int, fmt: AudioFormat, max_ms: float,
                    seed: int, first_allocation: int | None) -> None:
        self.rate, self.channels, self.fmt = sample_rate, channels, fmt
        self.frame = BYTES_PER_SAMPLE[fmt] * channels
        self.capacity = exact_frames(max_ms, sample_rate) * self.frame
        # A small first allocation makes the ring grow while wrapped, which the default
        # (64 KiB) rarely does in short runs.
        default_allocation = buffer_module._MIN_ALLOCATION
        buffer_module._MIN_ALLOCATION = first_allocation or default_allocation
        try:
            self.buffer = StreamingBuffer(target_duration_ms=0, max_duration_ms=max_ms,
                                          sample_rate=sample_rate, channels=channels,
                                          format=fmt)
        finally:
            buffer_module._MIN_ALLOCATION = default_allocation
        self.model = bytearray()
        self.random = random.Random(seed)
        self.received = self.read = self.dropped = self.cleared = 0

    def chunk(self, frames: int, **changes: object) -> AudioChunk:
        fields: dict[str, object] = {
            "data": self.random.randbytes(frames * self.frame), "sample_rate": self.rate,
            "channels": self.channels, "format": self.fmt,
        }
        fields.update(changes)
        return AudioChunk(**fields)  # type: ignore[arg-type]

    @rule(duration_ms=st.one_of(grid_ms, st.integers(0, 8 * 400).map(lambda e: e / 8)))
    def add_chunk(self, duration_ms: float) -> None:
        self.add_frames(exact_frames(duration_ms, self.rate))

    def add_frames(self, frames: int) -> None:
        chunk = self.chunk(frames)
        self.model += chunk.data
        excess = max(0, len(self.model) - self.capacity)
        del self.model[:excess]
        assert self.buffer.add_chunk(chunk) == excess
        self.received += len(chunk.data)
        self.dropped += excess

    @rule(duration_ms=grid_ms)
    def read_on_grid(self, duration_ms: float) -> None:
        wanted = exact_frames(duration_ms, self.rate) * self.frame
        expected = bytes(self.model[:wanted])
        del self.model[:wanted]
        assert self.buffer.read(duration_ms) == expected
        self.read += len(expected)

    @rule(frames=st.integers(1, 400), count=st.integers(2, 30))
    def burst_after_partial_read(self, frames: int, count: int) -> None:
        """The reader plays half of what is buffered, then the producer sends a burst of
        small packets: the level climbs through the ring's end while the ring is still
        growing, so the ring grows while its content wraps."""
        half = len(self.model) // self.frame // 2
        expected = bytes(self.model[: half * self.frame])
        del self.model[: half * self.frame]
        assert self.buffer.read(half * 1000 / self.rate) == expected
        self.read += len(expected)
        for _ in range(count):
            self.add_frames(frames)

    @rule(frames=st.integers(1, 2000))
    def churn(self, frames: int) -> None:
        """Add ``frames`` then read as many frames' worth of milliseconds: the level stays,
        the ring's head advances. ``frames * 1000 / rate`` ms must read exactly ``frames``
        frames."""
        self.add_frames(frames)
        wanted = min(frames * self.frame, len(self.model))
        expected = bytes(self.model[:wanted])
        del self.model[:wanted]
        assert self.buffer.read(frames * 1000 / self.rate) == expected
        self.read += wanted

    @rule(duration_ms=st.floats(0, 60, allow_nan=False, allow_infinity=False))
    def read_any_duration(self, duration_ms: float) -> None:
        data = self.buffer.read(duration_ms)
        assert len(data) % self.frame == 0
        frames = exact_frames(duration_ms, self.rate)
        # Rounding down may keep one more frame when float error puts the request a hair
        # below a whole frame (tolerance 1e-9 frame); never more than that.
        assert min(frames, len(self.model) // self.frame) <= len(data) // self.frame
        assert len(data) // self.frame <= min(frames + 1, len(self.model) // self.frame)
        assert data == self.model[: len(data)]
        del self.model[: len(data)]
        self.read += len(data)

    @rule(duration_ms=st.sampled_from([-1.0, -0.001, math.nan, math.inf]))
    def read_bad_duration(self, duration_ms: float) -> None:
        with pytest.raises(ValueError, match="duration_ms"):
            self.buffer.read(duration_ms)

    @rule(data=st.data())
    def add_mismatched_chunk(self, data: st.DataObject) -> None:
        change = data.draw(st.sampled_from(["sample_rate", "channels", "format", "partial"]))
        if change == "partial":
            chunk = self.chunk(1)
            chunk.data = chunk.data[:-1]
        elif change == "sample_rate":
            chunk = self.chunk(4, sample_rate=self.rate + 1)
        elif change == "channels":
            chunk = self.chunk(4, channels=3 - self.channels)
        else:
            other = data.draw(st.sampled_from([f for f in PCM_FORMATS if f is not self.fmt]))
            chunk = self.chunk(4, format=other)
        before = self.buffer.statistics()
        with pytest.raises(ValueError, match="refused"):
            self.buffer.add_chunk(chunk)
        assert self.buffer.statistics() == before

    @rule()
    def clear(self) -> None:
        assert self.buffer.clear() == len(self.model)
        self.cleared += len(self.model)
        self.model.clear()

    @invariant()
    def level_matches_the_model(self) -> None:
        assert self.buffer.current_bytes == len(self.model)
        assert self.buffer.current_bytes % self.frame == 0
        assert self.buffer.current_bytes <= self.capacity
        assert self.buffer.is_full() == (len(self.model) == self.capacity)
        assert math.isclose(self.buffer.current_ms,
                            len(self.model) / self.frame / self.rate * 1000)

    @invariant()
    def every_byte_is_accounted_for(self) -> None:
        stats = self.buffer.statistics()
        assert (stats.total_received, stats.total_read, stats.total_dropped,
                stats.total_cleared) == (self.received, self.read, self.dropped, self.cleared)
        assert stats.total_received == (stats.total_read + stats.total_dropped
                                        + stats.total_cleared + stats.size_bytes)


BufferMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_streaming_buffer_matches_bytearray_model = BufferMachine.TestCase
