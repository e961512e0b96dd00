"""Fuzzing of construction and of audio arithmetic: configurations and chunks.

Each rule builds one object from generally drawn arguments, valid or not (sizes from
negative to small, durations negative, zero, NaN or positive, sample rates 8-48 kHz or
non-positive, channel counts 1-2 or non-positive, every PCM format). Properties:

- ``config_refused``: an invalid configuration (``max_size`` < 1, negative or NaN
  durations, non-positive sample rate or channels) is refused at construction with
  ``ValueError``/``TypeError``, and a valid one is accepted;
- ``duration``: a chunk's ``duration_ms`` and ``calculate_audio_duration_ms`` agree with
  bytes / (bytes per sample x channels) / sample rate for every PCM format;
- ``bad_input_refused``: ``calculate_audio_duration_ms`` refuses a negative byte count
  and non-positive rates, channels and sample sizes.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import rule

from harness.fuzz import runtime
from harness.fuzz.core import FuzzMachine, guarded

__all__ = ["ObjectsMachine"]

BYTES_PER_SAMPLE = {"pcm_16": 2, "pcm_24": 3, "pcm_32": 4, "float_32": 4}
RATES = st.one_of(st.integers(8000, 48000), st.integers(-48000, 0))
CHANNELS = st.integers(-2, 2)
DURATIONS = st.one_of(st.integers(-100, 500).map(float), st.floats(-100.0, 500.0),
                      st.just(math.nan))

EXPECTED = {
    "config_refused": "an invalid configuration is refused at construction with "
                      "ValueError/TypeError naming the argument; a valid one is accepted",
    "duration": "duration = bytes / (bytes per sample x channels) / sample rate x 1000 "
                "(PCM_16: 2 bytes, PCM_24: 3, PCM_32 and FLOAT_32: 4)",
    "bad_input_refused": "invalid arguments are refused with ValueError/TypeError",
}


def _code(value: float) -> str:
    return "float('nan')" if isinstance(value, float) and math.isnan(value) else repr(value)


class ObjectsMachine(FuzzMachine):
    """Constructors and duration arithmetic with valid and invalid arguments.

    Every rule is independent of the others, so a defect already found (masked) is skipped
    and the example goes on.
    """

    component = "objects"
    independent_rules = True
    max_steps = 5
    properties = (*EXPECTED, "unexpected_error")

    def construct(self, component: str, op: str, fn: Any, code: str, valid: bool) -> str:
        got = runtime.construct(fn)
        allowed = {"made"} if valid else {"raised:refused"}
        self.soft_expect((component, "config_refused", op), f"construct(lambda: {code})", got,
                    allowed, EXPECTED["config_refused"])
        return got

    @rule(max_size=st.integers(-3, 4))
    @guarded
    def chunk_queue(self, max_size: int) -> None:
        self.construct("ChunkQueue", "ChunkQueue()", lambda: self.target.make_queue(max_size),
                       f"sf.ChunkQueue({max_size})", max_size >= 1)

    @rule(target_ms=DURATIONS, max_ms=DURATIONS, rate=RATES, channels=CHANNELS)
    @guarded
    def streaming_buffer(self, target_ms: float, max_ms: float, rate: int,
                         channels: int) -> None:
        if all(math.isfinite(v) and v >= 0 for v in (target_ms, max_ms)) and target_ms > max_ms:
            target_ms, max_ms = max_ms, target_ms  # ordering is not what this rule tests
        valid = (math.isfinite(target_ms) and target_ms >= 0 and math.isfinite(max_ms)
                 and max_ms * rate / 1000 >= 1 and rate >= 1 and channels >= 1)
        ambiguous = math.isfinite(max_ms) and max_ms > 0 and rate >= 1 and \
            max_ms * rate / 1000 < 1  # less than one frame: no test either way
        if ambiguous:
            return
        self.construct(
            "StreamingBuffer", "StreamingBuffer()",
            lambda: self.target.make_buffer(target_duration_ms=target_ms,
                                            max_duration_ms=max_ms, sample_rate=rate,
                                            channels=channels),
            f"sf.StreamingBuffer(target_duration_ms={_code(target_ms)}, "
            f"max_duration_ms={_code(max_ms)}, sample_rate={rate}, channels={channels})",
            valid)

    @rule(fmt=st.sampled_from(sorted(BYTES_PER_SAMPLE)), rate=RATES, channels=CHANNELS,
          frames=st.integers(0, 2000))
    @guarded
    def audio_chunk(self, fmt: str, rate: int, channels: int, frames: int) -> None:
        size = frames * BYTES_PER_SAMPLE[fmt] * max(channels, 1)
        made: list[Any] = []
        code = (f"sf.AudioChunk(data=bytes({size}), sample_rate={rate}, channels={channels}, "
                f"format=sf.AudioFormat({fmt!r}))")

        def build() -> Any:
            made.append(self.target.make_chunk(bytes(size), sample_rate=rate,
                                               channels=channels, fmt=fmt))
            return made[-1]

        valid = rate >= 1 and channels >= 1
        name = "chunk"
        self.log.code(f"{name} = []")
        got = self.construct("AudioChunk", "AudioChunk()", build,
                             f"{name}.append({code})", valid)
        if not made or not valid:
            return
        chunk = made[0]
        expected = frames / rate * 1000.0
        got = runtime.close_to(lambda: chunk.duration_ms, expected)
        self.soft_expect(("AudioChunk", "duration", f"duration_ms ({fmt})"),
                    f"close_to(lambda: {name}[0].duration_ms, {expected!r})", got,
                    {"as expected"}, EXPECTED["duration"])

    @rule(byte_count=st.integers(-100, 10_000), rate=RATES, channels=CHANNELS,
          width=st.integers(-1, 4))
    @guarded
    def duration_function(self, byte_count: int, rate: int, channels: int, width: int) -> None:
        fn = getattr(self.target, "module", None)
        fn = getattr(fn, "calculate_audio_duration_ms", None)
        if fn is None:
            return
        call = (f"sf.calculate_audio_duration_ms({byte_count}, sample_rate={rate}, "
                f"channels={channels}, bytes_per_sample={width})")
        valid = byte_count >= 0 and rate >= 1 and channels >= 1 and width >= 1
        if not valid:
            got = runtime.call_sync(lambda: fn(byte_count, sample_rate=rate, channels=channels,
                                               bytes_per_sample=width))
            if got.startswith("ok:"):
                got = "accepted"
            self.soft_expect(("calculate_audio_duration_ms", "bad_input_refused",
                         "calculate_audio_duration_ms"),
                        f"accepted(call_sync(lambda: {call}))", got, {"raised:refused"},
                        EXPECTED["bad_input_refused"])
            return
        expected = byte_count / (width * channels) / rate * 1000.0
        got = runtime.close_to(lambda: fn(byte_count, sample_rate=rate, channels=channels,
                                          bytes_per_sample=width), expected)
        self.soft_expect(("calculate_audio_duration_ms", "duration", "calculate_audio_duration_ms"),
                    f"close_to(lambda: {call}, {expected!r})", got, {"as expected"},
                    EXPECTED["duration"])
