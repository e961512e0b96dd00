"""Signals: sizes, formats, determinism, tone frequency, speech shape, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mocks.signals import (
    BYTES_PER_SAMPLE,
    FORMATS,
    KINDS,
    SignalSource,
    chunk_bytes,
    decode,
    encode,
    frame_bytes,
    generate,
)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", KINDS)
def test_generate_length_is_whole_frames_for_every_kind_and_format(kind: str, fmt: str) -> None:
    data = generate(kind, duration_ms=30, sample_rate=16_000, channels=2, fmt=fmt, seed=1)
    assert len(data) == 480 * 2 * BYTES_PER_SAMPLE[fmt]


def test_chunk_bytes_rounds_down_to_whole_frames() -> None:
    # 10 ms at 22.05 kHz is 220.5 frames: a chunk holds 220 whole ones.
    assert chunk_bytes(10, 22_050, 2, "pcm_24") == 220 * 2 * 3


@settings(max_examples=60, deadline=None, derandomize=True)
@given(duration_ms=st.floats(0, 500), sample_rate=st.integers(1, 192_000),
       channels=st.integers(1, 8), fmt=st.sampled_from(FORMATS))
def test_chunk_bytes_is_always_a_multiple_of_the_frame(
    duration_ms: float, sample_rate: int, channels: int, fmt: str
) -> None:
    assert chunk_bytes(duration_ms, sample_rate, channels, fmt) % frame_bytes(channels, fmt) == 0


@pytest.mark.parametrize("kind", ["noise", "speech"])
def test_same_seed_gives_same_bytes_and_another_seed_differs(kind: str) -> None:
    def make(seed: int) -> bytes:
        return generate(kind, duration_ms=500, sample_rate=16_000, channels=1,
                        fmt="pcm_16", seed=seed)

    assert make(7) == make(7)
    assert make(7) != make(8)


def test_tone_peak_is_at_the_requested_frequency() -> None:
    data = generate("tone", duration_ms=1000, sample_rate=16_000, channels=1, fmt="pcm_16",
                    frequency_hz=1234.0)
    samples = decode(data, "pcm_16")[:, 0]
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(samples.size, d=1 / 16_000)
    assert freqs[np.argmax(spectrum)] == pytest.approx(1234.0, abs=1.0)


def test_channels_are_interleaved_copies_of_the_tone() -> None:
    data = generate("tone", duration_ms=20, sample_rate=8_000, channels=3, fmt="pcm_32")
    frames = decode(data, "pcm_32", channels=3)
    assert np.array_equal(frames[:, 0], frames[:, 2])
    assert np.abs(frames).max() > 0.4


def test_pcm_24_is_packed_little_endian_in_three_bytes() -> None:
    assert encode(np.array([1.0, -1.0, 0.0]), "pcm_24") == b"\xff\xff\x7f\x01\x00\x80\x00\x00\x00"


@pytest.mark.parametrize("fmt", FORMATS)
def test_encode_then_decode_round_trips_within_one_step(fmt: str) -> None:
    values = np.linspace(-1, 1, 101)
    step = 1 / 32767 if fmt == "pcm_16" else 1e-6
    assert np.allclose(decode(encode(values, fmt), fmt)[:, 0], values, atol=step)


def test_float_32_noise_stays_within_unit_range() -> None:
    data = generate("noise", duration_ms=200, sample_rate=48_000, channels=2, fmt="float_32",
                    amplitude=1.0, seed=3)
    samples = np.frombuffer(data, dtype="<f4")
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    assert samples.std() > 0.3  # really noise, not silence


def test_silence_is_all_zero_bytes() -> None:
    assert set(generate("silence", duration_ms=10, sample_rate=16_000, channels=1,
                        fmt="pcm_24")) == {0}


def test_speech_alternates_voiced_bursts_and_pauses() -> None:
    data = generate("speech", duration_ms=4000, sample_rate=16_000, channels=1, fmt="float_32",
                    seed=5)
    windows = decode(data, "float_32")[:, 0].reshape(-1, 160)  # 10 ms windows
    rms = np.sqrt((windows ** 2).mean(axis=1))
    silent = rms < 1e-4
    assert 0.1 < silent.mean() < 0.7
    assert np.count_nonzero(np.diff(silent.astype(int)) == 1) >= 3  # at least 3 pauses begin
    assert rms.max() > 0.1


@pytest.mark.parametrize("kind", KINDS)
def test_source_chunks_join_into_the_same_signal_as_generate(kind: str) -> None:
    source = SignalSource(kind, sample_rate=16_000, channels=2, fmt="pcm_24", chunk_ms=20,
                          seed=9)
    chunks = [source.next_chunk() for _ in range(10)] + source.take(15)
    whole = generate(kind, duration_ms=500, sample_rate=16_000, channels=2, fmt="pcm_24",
                     seed=9)
    assert all(len(chunk) == source.chunk_bytes for chunk in chunks)
    assert b"".join(chunks) == whole


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"kind": "chirp"}, "kind"),
        ({"fmt": "mp3"}, "fmt"),
        ({"channels": 0}, "channels"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"duration_ms": -1.0}, "duration_ms"),
        ({"duration_ms": float("nan")}, "duration_ms"),
        ({"kind": "tone", "frequency_hz": 9_000.0}, "frequency_hz"),
    ],
)
def test_generate_rejects_bad_input_naming_the_argument(kwargs: dict, name: str) -> None:
    args = {"kind": "noise", "duration_ms": 10.0, "sample_rate": 16_000, "channels": 1,
            "fmt": "pcm_16"} | kwargs
    kind = args.pop("kind")
    with pytest.raises(ValueError, match=name):
        generate(kind, **args)


def test_source_rejects_a_chunk_shorter_than_one_frame() -> None:
    with pytest.raises(ValueError, match="chunk_ms"):
        SignalSource("tone", sample_rate=8_000, channels=1, fmt="pcm_16", chunk_ms=0.1)
