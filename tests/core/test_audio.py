"""AudioChunk, AudioFormat, StreamConfig and the audio helpers."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from stageflow_core import (
    AudioChunk,
    AudioFormat,
    StreamConfig,
    calculate_audio_duration_ms,
    encode_audio_for_logging,
)


@pytest.mark.parametrize(
    ("fmt", "size"),
    [(AudioFormat.PCM_16, 2), (AudioFormat.PCM_24, 3), (AudioFormat.PCM_32, 4),
     (AudioFormat.FLOAT_32, 4)],
)
def test_pcm_formats_know_their_bytes_per_sample(fmt: AudioFormat, size: int) -> None:
    assert AudioChunk(data=b"", format=fmt, channels=2).bytes_per_sample == size
    assert AudioChunk(data=b"", format=fmt, channels=2).frame_bytes == 2 * size


def test_pcm_24_duration_uses_three_bytes_per_sample() -> None:
    one_second = AudioChunk(data=bytes(3 * 48000), sample_rate=48000, format=AudioFormat.PCM_24)
    assert one_second.duration_ms == 1000.0


def test_pcm_16_stereo_duration() -> None:
    assert AudioChunk(data=bytes(640), channels=2).duration_ms == 10.0


@pytest.mark.parametrize("fmt", [AudioFormat.MP3, AudioFormat.OGG_OPUS, AudioFormat.WAV,
                                 AudioFormat.WEBM])
def test_compressed_duration_without_a_hint_is_an_error(fmt: AudioFormat) -> None:
    with pytest.raises(ValueError, match="compressed"):
        _ = AudioChunk(data=b"\xff\xfb" * 100, format=fmt).duration_ms


def test_compressed_duration_comes_from_the_hint() -> None:
    assert AudioChunk(data=b"\xff" * 9, format="mp3", duration_hint_ms=26.0).duration_ms == 26.0


def test_compressed_format_has_no_frame_size() -> None:
    with pytest.raises(ValueError, match="compressed"):
        _ = AudioChunk(data=b"", format=AudioFormat.OGG_OPUS).frame_bytes


def test_format_can_be_given_as_its_string_value() -> None:
    assert AudioChunk(data=b"", format="pcm_24").format is AudioFormat.PCM_24


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"sample_rate": 0}, ValueError, "sample_rate"),
        ({"channels": 0}, ValueError, "channels"),
        ({"format": "pcm_8"}, ValueError, "format"),
        ({"data": "abc"}, TypeError, "data"),
        ({"duration_hint_ms": -1.0}, ValueError, "duration_hint_ms"),
        ({"timestamp_ms": math.nan}, ValueError, "timestamp_ms"),
    ],
)
def test_bad_chunk_fields_are_refused(kwargs: dict, error: type, name: str) -> None:
    fields = {"data": b"\x00\x00", **kwargs}
    with pytest.raises(error, match=name):
        AudioChunk(**fields)


def test_to_dict_from_dict_round_trip() -> None:
    original = AudioChunk(data=b"\x01\x02\x03\x04", sample_rate=8000, channels=2,
                          format=AudioFormat.PCM_16, timestamp_ms=12.5, sequence=7,
                          is_final=True, metadata={"speaker": "a"})
    assert AudioChunk.from_dict(original.to_dict()) == original


def test_to_dict_keeps_the_reference_keys() -> None:
    assert set(AudioChunk(data=b"").to_dict()) == {
        "data", "sample_rate", "channels", "format", "timestamp_ms", "sequence", "is_final",
        "metadata",
    }


def test_duration_hint_survives_the_round_trip() -> None:
    original = AudioChunk(data=b"\xff", format="mp3", duration_hint_ms=20.0)
    assert AudioChunk.from_dict(original.to_dict()).duration_hint_ms == 20.0


def test_from_dict_with_invalid_base64_names_the_field() -> None:
    with pytest.raises(ValueError, match="base64"):
        AudioChunk.from_dict({"data": "not base64!"})


def test_as_array_pcm_16_is_a_frames_by_channels_view() -> None:
    data = struct.pack("<4h", 1, -2, 3, -4)
    array = AudioChunk(data=data, channels=2).as_array()
    assert array.dtype == np.int16
    assert array.tolist() == [[1, -2], [3, -4]]


def test_as_array_pcm_24_decodes_and_sign_extends() -> None:
    data = (1).to_bytes(3, "little", signed=True) + (-2).to_bytes(3, "little", signed=True)
    data += (2**23 - 1).to_bytes(3, "little", signed=True)
    data += (-(2**23)).to_bytes(3, "little", signed=True)
    array = AudioChunk(data=data, format=AudioFormat.PCM_24).as_array()
    assert array.dtype == np.int32
    assert array[:, 0].tolist() == [1, -2, 2**23 - 1, -(2**23)]


def test_as_array_float_32() -> None:
    data = struct.pack("<2f", 0.5, -0.25)
    array = AudioChunk(data=data, format=AudioFormat.FLOAT_32).as_array()
    assert array.dtype == np.float32
    assert array[:, 0].tolist() == [0.5, -0.25]


def test_as_array_of_a_partial_frame_is_an_error() -> None:
    with pytest.raises(ValueError, match="whole number"):
        AudioChunk(data=b"\x00\x00\x00", channels=1).as_array()


def test_calculate_audio_duration_ms() -> None:
    assert calculate_audio_duration_ms(96000, sample_rate=48000, channels=1,
                                       bytes_per_sample=2) == 1000.0


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"byte_count": -1}, ValueError, "byte_count"),
        ({"byte_count": 10, "sample_rate": 0}, ValueError, "sample_rate"),
        ({"byte_count": 10, "channels": 0}, ValueError, "channels"),
        ({"byte_count": 10, "bytes_per_sample": 0}, ValueError, "bytes_per_sample"),
        ({"byte_count": 1.5}, TypeError, "byte_count"),
    ],
)
def test_calculate_audio_duration_ms_validates(kwargs: dict, error: type, name: str) -> None:
    with pytest.raises(error, match=name):
        calculate_audio_duration_ms(**kwargs)


def test_encode_audio_for_logging_truncates_long_audio() -> None:
    assert encode_audio_for_logging(b"\x00" * 10, max_bytes=3) == "<audio:10B,sample:AAAA...>"


def test_encode_audio_for_logging_keeps_short_audio() -> None:
    assert encode_audio_for_logging(b"\x00\x00\x00") == "<audio:3B,data:AAAA>"


def test_stream_config_validates() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        StreamConfig(sample_rate=0)
