"""Audio test signals: numpy-backed PCM at any rate, channel count and format.

Every signal is deterministic for its seed. Samples are synthesised as float64 in
[-1, 1], then encoded: ``pcm_16``/``pcm_32`` little-endian signed integers, ``pcm_24``
little-endian signed integers packed in 3 bytes, ``float_32`` little-endian IEEE floats.
Frames are interleaved (``frame = channels * bytes_per_sample`` bytes).

Kinds: ``silence``; ``tone`` (a sine at ``frequency_hz``); ``noise`` (white, uniform,
independent per channel); ``speech`` (speech-like: voiced bursts of a few harmonics of a
gliding fundamental under a syllable-rate envelope, separated by pauses).
"""

from __future__ import annotations

import math

import numpy as np

from mocks import _checks

__all__ = [
    "BYTES_PER_SAMPLE",
    "FORMATS",
    "KINDS",
    "SignalSource",
    "chunk_bytes",
    "chunk_frames",
    "decode",
    "encode",
    "frame_bytes",
    "generate",
]

FORMATS = ("pcm_16", "pcm_24", "pcm_32", "float_32")
BYTES_PER_SAMPLE = {"pcm_16": 2, "pcm_24": 3, "pcm_32": 4, "float_32": 4}
KINDS = ("silence", "tone", "noise", "speech")

_AMPLITUDE = 0.5  # tone and noise peak; speech peaks below 0.8
_INT_FULL_SCALE = {"pcm_16": 32767, "pcm_24": 8388607, "pcm_32": 2147483647}


def frame_bytes(channels: int, fmt: str) -> int:
    """Bytes in one frame (one sample per channel).

    :raises ValueError: channels < 1 or unknown format.
    """
    channels = _checks.integer("channels", channels, minimum=1)
    return channels * BYTES_PER_SAMPLE[_checks.one_of("fmt", fmt, FORMATS)]


def chunk_frames(duration_ms: float, sample_rate: int) -> int:
    """Whole frames in ``duration_ms`` at ``sample_rate`` (rounded down).

    :raises ValueError: negative/NaN duration, sample_rate < 1.
    """
    duration = _checks.non_negative("duration_ms", duration_ms)
    rate = _checks.integer("sample_rate", sample_rate, minimum=1)
    # The epsilon keeps 0.1 * 441000 / 1000-style products from losing a frame to rounding.
    return math.floor(duration * rate / 1000.0 + 1e-9)


def chunk_bytes(duration_ms: float, sample_rate: int, channels: int, fmt: str) -> int:
    """Bytes of ``duration_ms`` of audio, always a whole number of frames (rounded down).

    :raises ValueError: negative/NaN duration, sample_rate < 1, channels < 1, unknown format.
    """
    return chunk_frames(duration_ms, sample_rate) * frame_bytes(channels, fmt)


def encode(samples: np.ndarray, fmt: str) -> bytes:
    """Encode float samples in [-1, 1] (any shape, interleaved order) as ``fmt`` bytes."""
    flat = np.clip(np.ascontiguousarray(samples, dtype=np.float64).reshape(-1), -1.0, 1.0)
    if fmt == "float_32":
        return flat.astype("<f4").tobytes()
    ints = np.rint(flat * _INT_FULL_SCALE[fmt])
    if fmt == "pcm_16":
        return ints.astype("<i2").tobytes()
    if fmt == "pcm_32":
        return ints.astype("<i4").tobytes()
    # pcm_24: the low three bytes of each little-endian int32 are the 24-bit sample.
    return ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def decode(data: bytes, fmt: str, channels: int = 1) -> np.ndarray:
    """Decode ``fmt`` bytes into float64 samples of shape ``(frames, channels)``.

    :raises ValueError: unknown format, or ``data`` not a whole number of frames.
    """
    size = frame_bytes(channels, fmt)
    if len(data) % size:
        raise ValueError(f"data is {len(data)} bytes, not a whole number of {size}-byte frames")
    if fmt == "float_32":
        flat = np.frombuffer(data, dtype="<f4").astype(np.float64)
    elif fmt == "pcm_24":
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        ints = np.where(ints & 0x800000, ints - (1 << 24), ints)
        flat = ints / _INT_FULL_SCALE[fmt]
    else:
        dtype = "<i2" if fmt == "pcm_16" else "<i4"
        flat = np.frombuffer(data, dtype=dtype) / _INT_FULL_SCALE[fmt]
    return flat.reshape(-1, channels)


class _Speech:
    """Speech-like synthesis: a lazily extended plan of voiced segments and pauses."""

    def __init__(self, sample_rate: int, rng: np.random.Generator) -> None:
        self._rate = sample_rate
        self._rng = rng
        # (start frame, length, f0 start Hz, f0 end Hz, harmonic amplitudes); pauses omitted.
        self._voiced: list[tuple[int, int, float, float, np.ndarray]] = []
        self._planned = 0  # frames covered by the plan so far
        self._first = 0  # index of the first segment that may still be rendered

    def _plan_until(self, end: int) -> None:
        rate, rng = self._rate, self._rng
        while self._planned < end:
            length = max(1, int(rng.uniform(0.12, 0.45) * rate))
            f0 = rng.uniform(95.0, 240.0)
            glide = f0 * rng.uniform(0.85, 1.15)
            count = int(rng.integers(3, 6))
            weights = rng.uniform(0.5, 1.0, size=count) / np.arange(1, count + 1)
            self._voiced.append((self._planned, length, f0, glide, weights / weights.sum()))
            pause = max(1, int(rng.uniform(0.05, 0.30) * rate))
            self._planned += length + pause

    def render(self, start: int, frames: int) -> np.ndarray:
        end = start + frames
        self._plan_until(end)
        out = np.zeros(frames, dtype=np.float64)
        nyquist = self._rate / 2.0
        ramp = max(1, int(0.02 * self._rate))  # 20 ms attack and release
        voiced_segments = self._voiced
        while (self._first < len(voiced_segments)
               and sum(voiced_segments[self._first][:2]) <= start):
            self._first += 1  # rendering moves forward only: skip finished segments for good
        for index in range(self._first, len(voiced_segments)):
            seg_start, length, f0, f1, weights = voiced_segments[index]
            seg_end = seg_start + length
            if seg_start >= end:
                break
            lo, hi = max(start, seg_start), min(end, seg_end)
            n = np.arange(lo - seg_start, hi - seg_start, dtype=np.float64)
            t = n / self._rate
            duration = length / self._rate
            # Linear glide of f0: phase is the integral of the instantaneous frequency.
            phase = 2.0 * np.pi * (f0 * t + (f1 - f0) * t * t / (2.0 * duration))
            voiced = np.zeros_like(t)
            for harmonic, weight in enumerate(weights, start=1):
                if harmonic * max(f0, f1) < nyquist:
                    voiced += weight * np.sin(harmonic * phase)
            envelope = (0.65 + 0.35 * np.sin(2.0 * np.pi * 4.0 * t)) * 0.75
            envelope *= np.minimum(1.0, np.minimum(n + 1, length - n) / ramp)
            out[lo - start:hi - start] = voiced * envelope
        return out


class SignalSource:
    """An endless, continuous signal cut into chunks of ``chunk_ms``.

    Consecutive chunks join without a seam: the concatenation of the chunks equals
    :func:`generate` of the same kind, seed and total duration.

    :raises ValueError: unknown kind or format, channels < 1, sample_rate < 1, a chunk
        shorter than one frame, frequency_hz not in (0, sample_rate / 2).
    """

    def __init__(self, kind: str, *, sample_rate: int, channels: int, fmt: str,
                 chunk_ms: float, seed: int = 0, frequency_hz: float = 440.0,
                 amplitude: float = _AMPLITUDE) -> None:
        self.kind = _checks.one_of("kind", kind, KINDS)
        self.fmt = _checks.one_of("fmt", fmt, FORMATS)
        self.sample_rate = _checks.integer("sample_rate", sample_rate, minimum=1)
        self.channels = _checks.integer("channels", channels, minimum=1)
        self.chunk_ms = _checks.positive("chunk_ms", chunk_ms)
        self.frequency_hz = _checks.positive("frequency_hz", frequency_hz)
        if self.kind == "tone" and self.frequency_hz >= self.sample_rate / 2:
            raise ValueError(
                f"frequency_hz must be below sample_rate / 2 = {self.sample_rate / 2}, "
                f"got {frequency_hz!r}"
            )
        self.amplitude = _checks.probability("amplitude", amplitude)
        self.seed = _checks.integer("seed", seed, minimum=0)
        self.frames_per_chunk = chunk_frames(self.chunk_ms, self.sample_rate)
        if self.frames_per_chunk < 1:
            raise ValueError(
                f"chunk_ms {chunk_ms!r} is shorter than one frame at {sample_rate} Hz"
            )
        self.frame_bytes = frame_bytes(self.channels, self.fmt)
        self.chunk_bytes = self.frames_per_chunk * self.frame_bytes
        self._position = 0  # next frame index
        self._rng = np.random.default_rng(self.seed)
        self._speech = _Speech(self.sample_rate, self._rng) if kind == "speech" else None

    @property
    def position_ms(self) -> float:
        """Audio time generated so far."""
        return self._position * 1000.0 / self.sample_rate

    def _render(self, frames: int) -> np.ndarray:
        start = self._position
        self._position += frames
        shape = (frames, self.channels)
        if self.kind == "silence":
            return np.zeros(shape)
        if self.kind == "noise":
            return self._rng.uniform(-self.amplitude, self.amplitude, size=shape)
        if self.kind == "tone":
            n = np.arange(start, start + frames, dtype=np.float64)
            wave = self.amplitude * np.sin(2.0 * np.pi * self.frequency_hz * n / self.sample_rate)
        else:
            assert self._speech is not None
            wave = self._speech.render(start, frames) * (self.amplitude / _AMPLITUDE)
        return np.repeat(wave[:, None], self.channels, axis=1)

    def read_frames(self, frames: int) -> bytes:
        """The next ``frames`` frames of the signal, encoded.

        :raises ValueError: frames < 0.
        """
        frames = _checks.integer("frames", frames, minimum=0)
        return encode(self._render(frames), self.fmt)

    def next_chunk(self) -> bytes:
        """The next ``chunk_ms`` of the signal (``chunk_bytes`` bytes)."""
        return encode(self._render(self.frames_per_chunk), self.fmt)

    def take(self, count: int) -> list[bytes]:
        """The next ``count`` chunks, synthesised in one pass (much cheaper than a loop).

        :raises ValueError: count < 0.
        """
        count = _checks.integer("count", count, minimum=0)
        data = self.read_frames(count * self.frames_per_chunk)
        size = self.chunk_bytes
        return [data[i * size:(i + 1) * size] for i in range(count)]


def generate(kind: str, *, duration_ms: float, sample_rate: int, channels: int, fmt: str,
             seed: int = 0, frequency_hz: float = 440.0, amplitude: float = _AMPLITUDE) -> bytes:
    """``duration_ms`` of signal ``kind`` (whole frames, rounded down), encoded as ``fmt``.

    :raises ValueError: unknown kind or format, channels < 1, sample_rate < 1, negative or
        NaN duration, frequency_hz not in (0, sample_rate / 2), amplitude not in [0, 1].
    """
    frames = chunk_frames(duration_ms, sample_rate)
    source = SignalSource(kind, sample_rate=sample_rate, channels=channels, fmt=fmt,
                          chunk_ms=1000.0, seed=seed, frequency_hz=frequency_hz,
                          amplitude=amplitude)
    return source.read_frames(frames)
