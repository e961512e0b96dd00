"""StreamingBuffer: a bounded jitter buffer of PCM audio that keeps whole frames."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from stageflow_core._checks import check_int, check_number
from stageflow_core.audio import AudioChunk, AudioFormat, pcm_bytes_per_sample
from stageflow_core.events import EventEmitter, make_emitter

__all__ = ["BufferStatistics", "StreamingBuffer"]

_MIN_ALLOCATION = 64 * 1024


@dataclass(frozen=True, slots=True)
class BufferStatistics:
    """A frozen snapshot of a :class:`StreamingBuffer`. Byte counts are whole frames."""

    size_bytes: int
    """Bytes buffered now."""
    duration_ms: float
    """Audio buffered now, in milliseconds."""
    max_bytes: int
    """Capacity: ``max_duration_ms`` rounded down to whole frames."""
    max_duration_ms: float
    """Capacity in milliseconds (after rounding to whole frames)."""
    target_duration_ms: float
    """Level at which the buffer reports ready."""
    total_received: int
    """Bytes of every accepted chunk."""
    total_read: int
    """Bytes returned by reads."""
    total_dropped: int
    """Bytes trimmed by overflow (oldest audio, or the head of an oversized chunk)."""
    total_cleared: int
    """Bytes discarded by ``clear()``."""
    overflow_events: int
    """Chunks whose arrival trimmed audio."""
    underrun_events: int
    """Times reads started to come back short (one per underrun episode)."""
    short_reads: int
    """Reads that returned less than asked."""
    underrun_active: bool
    """Whether the last non-empty read request came back short."""
    peak_bytes: int
    """Most bytes ever buffered: the high-water mark."""
    peak_duration_ms: float
    """``peak_bytes`` in milliseconds."""
    sample_rate: int
    """Sample rate in Hz."""
    channels: int
    """Interleaved channels."""
    format: str
    """Audio format value, e.g. ``pcm_16``."""
    emitter_errors: int
    """Calls to the event emitter that raised (isolated, never propagated)."""


class StreamingBuffer:
    """A bounded FIFO of PCM audio between a bursty producer and a steady reader.

    A drop-in superset of Stageflow's ``StreamingBuffer``. Guarantees:

    - Whole frames only: every chunk, read, overflow trim and drop is a multiple of
      ``frame_bytes`` (``channels * bytes_per_sample``).
    - Bounded: it never holds more than ``max_duration_ms`` rounded down to whole frames.
      On overflow it trims exactly the oldest excess; a chunk longer than the capacity
      keeps only its newest part. Each trim is counted and emits ``stream.buffer_overflow``.
    - A chunk whose sample rate, channels or format differ from the buffer's, or whose
      data is not whole frames, is refused with ``ValueError`` and the buffer is unchanged.
    - Ring buffer: the cost of ``add_chunk`` and ``read`` depends on the bytes moved, not
      on how much is buffered. Storage grows on demand up to the capacity.
    - Events: ``stream.buffer_overflow``, ``stream.buffer_underrun`` (a read came back
      short, once per episode), ``stream.buffer_recovered`` (first full read after).

    Not thread-safe; use it from one thread (the event loop's).

    :raises TypeError: an argument has the wrong type.
    :raises ValueError: negative, NaN or infinite durations, ``target_duration_ms`` >
        ``max_duration_ms``, a capacity below one frame, ``sample_rate``/``channels`` < 1,
        or a compressed ``format``.
    """

    __slots__ = (
        "_channels",
        "_emit",
        "_format",
        "_frame",
        "_head",
        "_max_bytes",
        "_max_ms",
        "_overflow_events",
        "_peak",
        "_rate",
        "_ring",
        "_short_reads",
        "_size",
        "_target_bytes",
        "_target_ms",
        "_total_cleared",
        "_total_dropped",
        "_total_read",
        "_total_received",
        "_underrun_active",
        "_underrun_events",
        "_view",
    )

    def __init__(
        self,
        *,
        target_duration_ms: float = 200,
        max_duration_ms: float = 2000,
        sample_rate: int = 16000,
        channels: int = 1,
        format: AudioFormat | str = AudioFormat.PCM_16,
        event_emitter: EventEmitter | None = None,
    ) -> None:
        target_ms = check_number("target_duration_ms", target_duration_ms)
        max_ms = check_number("max_duration_ms", max_duration_ms)
        if target_ms > max_ms:
            raise ValueError(
                f"target_duration_ms ({target_ms:g}) must be <= max_duration_ms ({max_ms:g})"
            )
        self._rate = check_int("sample_rate", sample_rate, minimum=1)
        self._channels = check_int("channels", channels, minimum=1)
        self._format = AudioFormat.parse(format)
        self._frame = pcm_bytes_per_sample(self._format, "StreamingBuffer format") * channels
        max_frames = frames_in(max_ms, sample_rate)
        if max_frames < 1:
            raise ValueError(
                f"max_duration_ms ({max_ms:g}) holds no whole frame at {sample_rate} Hz"
            )
        self._max_bytes = max_frames * self._frame
        self._max_ms = max_frames / sample_rate * 1000.0
        self._target_ms = target_ms
        target_frames = math.ceil(target_ms * sample_rate / 1000 - 1e-9)
        self._target_bytes = min(target_frames, max_frames) * self._frame
        self._emit = make_emitter(event_emitter, "StreamingBuffer")
        self._ring = bytearray(min(self._max_bytes, max(2 * self._target_bytes, _MIN_ALLOCATION)))
        self._view = memoryview(self._ring)
        self._head = 0
        self._size = 0
        self._peak = 0
        self._total_received = 0
        self._total_read = 0
        self._total_dropped = 0
        self._total_cleared = 0
        self._overflow_events = 0
        self._underrun_events = 0
        self._short_reads = 0
        self._underrun_active = False

    # -- level --------------------------------------------------------------------------

    @property
    def duration_ms(self) -> float:
        """Audio buffered now, in milliseconds."""
        return self._size / self._frame / self._rate * 1000.0

    @property
    def current_ms(self) -> float:
        """Audio buffered now, in milliseconds (same as ``duration_ms``)."""
        return self._size / self._frame / self._rate * 1000.0

    @property
    def current_bytes(self) -> int:
        """Bytes buffered now (whole frames)."""
        return self._size

    @property
    def max_bytes(self) -> int:
        """Capacity in bytes: ``max_duration_ms`` rounded down to whole frames."""
        return self._max_bytes

    @property
    def max_duration_ms(self) -> float:
        """Capacity in milliseconds, after rounding down to whole frames."""
        return self._max_ms

    @property
    def target_duration_ms(self) -> float:
        """Level at which ``is_ready()`` turns true."""
        return self._target_ms

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return self._rate

    @property
    def channels(self) -> int:
        """Interleaved channels."""
        return self._channels

    @property
    def format(self) -> AudioFormat:
        """PCM format of the buffered audio."""
        return self._format

    @property
    def frame_bytes(self) -> int:
        """Bytes per frame (``channels * bytes_per_sample``); every byte count is a multiple."""
        return self._frame

    def is_ready(self) -> bool:
        """True once at least ``target_duration_ms`` is buffered (whole frames, rounded up,
        at most the capacity)."""
        return self._size >= self._target_bytes

    def is_full(self) -> bool:
        """True when the buffer holds its capacity."""
        return self._size >= self._max_bytes

    def __len__(self) -> int:
        """Bytes buffered now."""
        return self._size

    def __repr__(self) -> str:
        return (
            f"<StreamingBuffer {self.duration_ms:.1f}/{self._max_ms:.1f} ms "
            f"{self._rate} Hz {self._channels} ch {self._format.value}>"
        )

    # -- data ---------------------------------------------------------------------------

    def add_chunk(self, chunk: AudioChunk) -> int:
        """Append a chunk's audio, trimming the oldest audio if it would exceed capacity.

        :returns: bytes dropped to make room (0 when it fitted), a multiple of frame_bytes.
        :raises TypeError: ``chunk`` is not an audio chunk.
        :raises ValueError: its sample rate, channels or format differ from the buffer's,
            or its data is not whole frames. The buffer is unchanged.
        """
        view = chunk_view(chunk, self._rate, self._channels, self._format, self._frame,
                          "StreamingBuffer.add_chunk")
        n = view.nbytes
        if n == 0:
            return 0
        self._total_received += n
        dropped = 0
        capacity = self._max_bytes
        if n >= capacity:
            dropped = self._size + n - capacity
            view = view[n - capacity:]
            n = capacity
            self._head = 0
            self._size = 0
        elif self._size + n > capacity:
            dropped = self._size + n - capacity
            self._head = (self._head + dropped) % len(self._ring)
            self._size -= dropped
        ring_len = len(self._ring)
        if self._size + n > ring_len:
            self._grow(self._size + n)
            ring_len = len(self._ring)
        tail = self._head + self._size
        if tail >= ring_len:
            tail -= ring_len
        first = ring_len - tail
        if n <= first:
            self._view[tail:tail + n] = view
        else:
            self._view[tail:] = view[:first]
            self._view[:n - first] = view[first:]
        self._size += n
        if self._size > self._peak:
            self._peak = self._size
        if dropped:
            self._total_dropped += dropped
            self._overflow_events += 1
            if self._emit is not None:
                self._emit.emit(
                    "stream.buffer_overflow",
                    {
                        "bytes_dropped": dropped,
                        "buffer_duration_ms": self.duration_ms,
                        "max_duration_ms": self._max_ms,
                    },
                )
        return dropped

    def read(self, duration_ms: float = 20) -> bytes:
        """Remove and return up to ``duration_ms`` of the oldest audio.

        The request is rounded down to whole frames; less is returned when less is
        buffered (an underrun: ``stream.buffer_underrun`` once per episode, then
        ``stream.buffer_recovered`` at the first full read).

        :raises TypeError: ``duration_ms`` is not a number.
        :raises ValueError: ``duration_ms`` is negative, NaN or infinite.
        """
        cls = duration_ms.__class__
        if (cls is not float and cls is not int) or not 0 <= duration_ms < math.inf:
            duration_ms = check_number("duration_ms", duration_ms)
        wanted = int(duration_ms * self._rate / 1000 + 1e-9) * self._frame
        size = self._size
        n = wanted if wanted <= size else size
        if n < wanted:
            self._short_reads += 1
            if not self._underrun_active:
                self._underrun_active = True
                self._underrun_events += 1
                if self._emit is not None:
                    self._emit.emit(
                        "stream.buffer_underrun",
                        {
                            "bytes_requested": wanted,
                            "bytes_available": n,
                            "buffer_duration_ms": self.duration_ms,
                        },
                    )
        elif wanted and self._underrun_active:
            self._underrun_active = False
            if self._emit is not None:
                self._emit.emit(
                    "stream.buffer_recovered", {"buffer_duration_ms": self.duration_ms}
                )
        if n == 0:
            return b""
        head = self._head
        ring_len = len(self._ring)
        end = head + n
        if end <= ring_len:
            out = self._view[head:end].tobytes()
            if end == ring_len:
                end = 0
        else:
            end -= ring_len
            out = b"".join((self._view[head:], self._view[:end]))
        self._size = size - n
        self._head = end if self._size else 0
        self._total_read += n
        return out

    def clear(self) -> int:
        """Discard everything buffered; returns the bytes discarded (counted as cleared)."""
        discarded = self._size
        self._total_cleared += discarded
        self._size = 0
        self._head = 0
        return discarded

    def _grow(self, needed: int) -> None:
        """Reallocate the ring to hold ``needed`` bytes with headroom (1.5 x needed or
        double, whichever is larger; capped at capacity), unwrapping the content."""
        ring = bytearray(min(self._max_bytes, max(needed + needed // 2, 2 * len(self._ring))))
        size = self._size
        head = self._head
        first = min(size, len(self._ring) - head)
        ring[:first] = self._view[head:head + first]
        ring[first:size] = self._view[:size - first]
        self._view.release()
        self._ring = ring
        self._view = memoryview(ring)
        self._head = 0

    # -- accounting -----------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, Any]:
        """The reference's keys (``duration_ms``, ``bytes_buffered``, ``total_received``,
        ``total_read``, ``total_dropped``, ``is_ready``, ``underrun_active``) plus
        ``max_duration_ms``, ``total_cleared``, ``overflow_events``, ``underrun_events``,
        ``peak_bytes`` and ``emitter_errors``."""
        return {
            "duration_ms": self.duration_ms,
            "bytes_buffered": self._size,
            "total_received": self._total_received,
            "total_read": self._total_read,
            "total_dropped": self._total_dropped,
            "is_ready": self.is_ready(),
            "underrun_active": self._underrun_active,
            "max_duration_ms": self._max_ms,
            "total_cleared": self._total_cleared,
            "overflow_events": self._overflow_events,
            "underrun_events": self._underrun_events,
            "peak_bytes": self._peak,
            "emitter_errors": 0 if self._emit is None else self._emit.errors,
        }

    def statistics(self) -> BufferStatistics:
        """A frozen snapshot of the level and counters."""
        return BufferStatistics(
            size_bytes=self._size,
            duration_ms=self.duration_ms,
            max_bytes=self._max_bytes,
            max_duration_ms=self._max_ms,
            target_duration_ms=self._target_ms,
            total_received=self._total_received,
            total_read=self._total_read,
            total_dropped=self._total_dropped,
            total_cleared=self._total_cleared,
            overflow_events=self._overflow_events,
            underrun_events=self._underrun_events,
            short_reads=self._short_reads,
            underrun_active=self._underrun_active,
            peak_bytes=self._peak,
            peak_duration_ms=self._peak / self._frame / self._rate * 1000.0,
            sample_rate=self._rate,
            channels=self._channels,
            format=self._format.value,
            emitter_errors=0 if self._emit is None else self._emit.errors,
        )


def frames_in(duration_ms: float, sample_rate: int) -> int:
    """Whole frames in ``duration_ms`` at ``sample_rate``, rounded down (with a 1e-9 frame
    tolerance so that float error never loses a frame, e.g. 2.3 ms at 10 kHz is 23)."""
    return int(duration_ms * sample_rate / 1000 + 1e-9)


def chunk_view(
    chunk: AudioChunk,
    sample_rate: int,
    channels: int,
    fmt: AudioFormat,
    frame: int,
    owner: str,
) -> memoryview:
    """The chunk's data as a byte view, after checking it matches the stream's format.

    :raises TypeError: ``chunk`` is not an audio chunk.
    :raises ValueError: its format differs from the stream's, or it holds a partial frame.
    """
    try:
        data = chunk.data
        rate = chunk.sample_rate
        chunk_channels = chunk.channels
        chunk_format = chunk.format
    except AttributeError:
        raise TypeError(
            f"{owner}: expected an AudioChunk (data, sample_rate, channels, format), "
            f"got {type(chunk).__name__}"
        ) from None
    if chunk_format is not fmt:
        chunk_format = AudioFormat.parse(chunk_format, f"{owner}: chunk format")
    if rate != sample_rate or chunk_channels != channels or chunk_format is not fmt:
        raise ValueError(
            f"{owner}: chunk is {rate} Hz, {chunk_channels} ch, {chunk_format.value} but the "
            f"stream is {sample_rate} Hz, {channels} ch, {fmt.value}; chunk refused"
        )
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(
            f"{owner}: chunk data must be bytes-like, got {type(data).__name__}"
        ) from None
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    if view.nbytes % frame:
        raise ValueError(
            f"{owner}: chunk of {view.nbytes} bytes is not a whole number of {frame}-byte "
            f"frames; chunk refused"
        )
    return view
