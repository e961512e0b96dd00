"""Audio chunks and formats: what a chunk holds and how long it lasts."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from stageflow_core._checks import check_int, check_number

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "AudioChunk",
    "AudioFormat",
    "StreamConfig",
    "calculate_audio_duration_ms",
    "encode_audio_for_logging",
]


class AudioFormat(Enum):
    """Audio encodings. PCM formats are little-endian and interleaved by channel."""

    PCM_16 = "pcm_16"
    PCM_24 = "pcm_24"
    PCM_32 = "pcm_32"
    FLOAT_32 = "float_32"
    MP3 = "mp3"
    OGG_OPUS = "ogg_opus"
    WAV = "wav"
    WEBM = "webm"

    @property
    def bytes_per_sample(self) -> int | None:
        """Bytes of one sample of one channel; ``None`` for compressed formats."""
        return _BYTES_PER_SAMPLE.get(self)

    @property
    def is_compressed(self) -> bool:
        """True when the duration cannot be derived from the byte count."""
        return self not in _BYTES_PER_SAMPLE

    @classmethod
    def parse(cls, value: object, name: str = "format") -> AudioFormat:
        """Return the format for an ``AudioFormat`` or its string value (``"pcm_16"``).

        Any enum whose ``value`` is a known format string is accepted too, so chunks made
        with Stageflow's own ``AudioFormat`` work unchanged.
        """
        if isinstance(value, cls):
            return value
        raw = value.value if isinstance(value, Enum) else value
        if isinstance(raw, str):
            try:
                return cls(raw.lower())
            except ValueError:
                known = ", ".join(f.value for f in cls)
                raise ValueError(f"{name}: unknown audio format {raw!r} (known: {known})") from None
        raise TypeError(
            f"{name} must be an AudioFormat or its string value, got {type(value).__name__}"
        )


_BYTES_PER_SAMPLE: dict[AudioFormat, int] = {
    AudioFormat.PCM_16: 2,
    AudioFormat.PCM_24: 3,
    AudioFormat.PCM_32: 4,
    AudioFormat.FLOAT_32: 4,
}

_NUMPY_DTYPES: dict[AudioFormat, str] = {
    AudioFormat.PCM_16: "<i2",
    AudioFormat.PCM_32: "<i4",
    AudioFormat.FLOAT_32: "<f4",
}


def pcm_bytes_per_sample(fmt: AudioFormat, owner: str) -> int:
    """Bytes per sample of a PCM format; ``ValueError`` naming ``owner`` for compressed ones."""
    size = _BYTES_PER_SAMPLE.get(fmt)
    if size is None:
        raise ValueError(
            f"{owner}: format {fmt.value} is compressed; it has no fixed bytes per sample "
            f"(use pcm_16, pcm_24, pcm_32 or float_32)"
        )
    return size


@dataclass(frozen=True)
class StreamConfig:
    """Settings of one audio stream; validated at construction.

    Attributes:
        chunk_size: Default chunk size in bytes (>= 1).
        sample_rate: Sample rate in Hz (>= 1).
        channels: Number of interleaved channels (>= 1).
        format: Audio format.
        buffer_duration_ms: Target buffer duration in milliseconds (>= 0).
    """

    chunk_size: int = 4096
    sample_rate: int = 16000
    channels: int = 1
    format: AudioFormat = AudioFormat.PCM_16
    buffer_duration_ms: int = 100

    def __post_init__(self) -> None:
        check_int("StreamConfig.chunk_size", self.chunk_size, minimum=1)
        check_int("StreamConfig.sample_rate", self.sample_rate, minimum=1)
        check_int("StreamConfig.channels", self.channels, minimum=1)
        object.__setattr__(self, "format", AudioFormat.parse(self.format, "StreamConfig.format"))
        check_number("StreamConfig.buffer_duration_ms", self.buffer_duration_ms)


@dataclass
class AudioChunk:
    """A chunk of audio, validated at construction.

    Attributes:
        data: Raw audio bytes (bytes, bytearray or memoryview).
        sample_rate: Sample rate in Hz (>= 1).
        channels: Number of interleaved channels (>= 1).
        format: Audio format (an ``AudioFormat`` or its string value).
        timestamp_ms: Timestamp in milliseconds from stream start.
        sequence: Sequence number for ordering; drop events report it.
        is_final: Whether this is the last chunk of the stream.
        metadata: Additional metadata.
        duration_hint_ms: Duration of a compressed chunk, which the bytes cannot tell;
            ignored for PCM formats, whose duration is derived from the byte count.
    """

    data: bytes
    sample_rate: int = 16000
    channels: int = 1
    format: AudioFormat = AudioFormat.PCM_16
    timestamp_ms: float = 0.0
    sequence: int = 0
    is_final: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    duration_hint_ms: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes | bytearray | memoryview):
            raise TypeError(
                f"AudioChunk.data must be bytes, bytearray or memoryview, "
                f"got {type(self.data).__name__}"
            )
        check_int("AudioChunk.sample_rate", self.sample_rate, minimum=1)
        check_int("AudioChunk.channels", self.channels, minimum=1)
        self.format = AudioFormat.parse(self.format, "AudioChunk.format")
        check_number("AudioChunk.timestamp_ms", self.timestamp_ms, minimum=-math.inf)
        if self.duration_hint_ms is not None:
            check_number("AudioChunk.duration_hint_ms", self.duration_hint_ms)

    @property
    def bytes_per_sample(self) -> int:
        """Bytes of one sample of one channel; ``ValueError`` for compressed formats."""
        return pcm_bytes_per_sample(self.format, "AudioChunk.bytes_per_sample")

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame (one sample of every channel); ``ValueError`` if compressed."""
        return pcm_bytes_per_sample(self.format, "AudioChunk.frame_bytes") * self.channels

    @property
    def duration_ms(self) -> float:
        """Duration in milliseconds.

        PCM: derived from the byte count. Compressed: ``duration_hint_ms``.

        :raises ValueError: compressed format and no ``duration_hint_ms``.
        """
        size = _BYTES_PER_SAMPLE.get(self.format)
        if size is None:
            if self.duration_hint_ms is None:
                raise ValueError(
                    f"AudioChunk.duration_ms: format {self.format.value} is compressed, so its "
                    f"duration cannot be derived from the byte count; pass duration_hint_ms"
                )
            return float(self.duration_hint_ms)
        return len(self.data) / (size * self.channels) / self.sample_rate * 1000.0

    def as_array(self) -> np.ndarray:
        """The samples as a numpy array of shape ``(frames, channels)``.

        PCM_16 -> int16, PCM_32 -> int32, FLOAT_32 -> float32: zero-copy views of ``data``
        (read-only when ``data`` is bytes). PCM_24 -> int32, decoded (a copy), sign-extended.

        :raises ImportError: numpy is not installed.
        :raises ValueError: compressed format, or ``data`` is not a whole number of frames.
        """
        try:
            import numpy as np
        except ImportError as exc:  # pragma: no cover - numpy is installed in our CI
            raise ImportError("AudioChunk.as_array() needs numpy; pip install numpy") from exc
        frame = self.frame_bytes
        if len(self.data) % frame:
            raise ValueError(
                f"AudioChunk.as_array(): {len(self.data)} bytes is not a whole number of "
                f"{frame}-byte frames"
            )
        if self.format is AudioFormat.PCM_24:
            raw = np.frombuffer(self.data, dtype=np.uint8).reshape(-1, 3)
            wide = np.zeros((raw.shape[0], 4), dtype=np.uint8)
            wide[:, 1:] = raw  # little-endian: the 3 bytes become the top of an int32
            samples = wide.view("<i4").reshape(-1) >> 8  # arithmetic shift sign-extends
            return samples.astype(np.int32, copy=False).reshape(-1, self.channels)
        return np.frombuffer(self.data, dtype=_NUMPY_DTYPES[self.format]).reshape(
            -1, self.channels
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``data`` base64-encoded); the reference's keys, plus
        ``duration_hint_ms`` when set."""
        out: dict[str, Any] = {
            "data": base64.b64encode(self.data).decode("ascii"),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "format": self.format.value,
            "timestamp_ms": self.timestamp_ms,
            "sequence": self.sequence,
            "is_final": self.is_final,
            "metadata": self.metadata,
        }
        if self.duration_hint_ms is not None:
            out["duration_hint_ms"] = self.duration_hint_ms
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioChunk:
        """Inverse of :meth:`to_dict`; missing optional keys take their defaults.

        :raises ValueError: ``data`` has no ``"data"`` key or it is not valid base64.
        """
        if "data" not in data:
            raise ValueError("AudioChunk.from_dict: missing required key 'data'")
        try:
            raw = base64.b64decode(data["data"], validate=True)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"AudioChunk.from_dict: 'data' is not valid base64: {exc}") from None
        return cls(
            data=raw,
            sample_rate=data.get("sample_rate", 16000),
            channels=data.get("channels", 1),
            format=AudioFormat.parse(data.get("format", "pcm_16"), "AudioChunk.from_dict format"),
            timestamp_ms=data.get("timestamp_ms", 0.0),
            sequence=data.get("sequence", 0),
            is_final=data.get("is_final", False),
            metadata=data.get("metadata", {}),
            duration_hint_ms=data.get("duration_hint_ms"),
        )


def encode_audio_for_logging(data: bytes, max_bytes: int = 100) -> str:
    """A log-safe string: the byte count and the first ``max_bytes`` bytes in base64."""
    check_int("max_bytes", max_bytes, minimum=0)
    truncated = len(data) > max_bytes
    encoded = base64.b64encode(data[:max_bytes]).decode("ascii")
    if truncated:
        return f"<audio:{len(data)}B,sample:{encoded}...>"
    return f"<audio:{len(data)}B,data:{encoded}>"


def calculate_audio_duration_ms(
    byte_count: int,
    sample_rate: int = 16000,
    channels: int = 1,
    bytes_per_sample: int = 2,
) -> float:
    """Duration in milliseconds of ``byte_count`` bytes of PCM audio.

    :raises TypeError: an argument is not an int.
    :raises ValueError: ``byte_count`` < 0, or ``sample_rate``, ``channels`` or
        ``bytes_per_sample`` < 1.
    """
    check_int("byte_count", byte_count, minimum=0)
    check_int("sample_rate", sample_rate, minimum=1)
    check_int("channels", channels, minimum=1)
    check_int("bytes_per_sample", bytes_per_sample, minimum=1)
    return byte_count / (bytes_per_sample * channels) / sample_rate * 1000.0
