"""Fuzzing of configuration and of audio arithmetic: every public callable, every format.

Rules are independent: each builds or calls one thing from generally drawn arguments.
Properties:

- ``config_refused``: every public constructor of the target (discovered from its module,
  :mod:`harness.fuzz.arguments`) refuses a bad configuration — sizes < 1, negative or NaN
  durations, percentages outside 0..100 or misordered water marks, unknown policies and
  formats, wrong types — with ``ValueError``/``TypeError``, and accepts a valid one;
- ``bad_input_refused``: the same rule for every public function and synchronous method
  (of the classes no state machine drives) that takes such arguments;
- ``duration``: a chunk's ``duration_ms`` and ``calculate_audio_duration_ms`` agree with
  bytes / (bytes per sample x channels) / sample rate for every PCM format; a compressed
  format (every member of the target's ``AudioFormat`` that is not PCM or float) has no
  duration derivable from its bytes: ``duration_ms`` raises, or returns the duration the
  caller gave, never a number computed as if it were PCM.

One finding per callable (component + operation), whatever argument broke it.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import weakref
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from harness.fuzz import arguments, runtime
from harness.fuzz.arguments import CallableSpec
from harness.fuzz.core import FuzzMachine, guarded

__all__ = ["ObjectsMachine", "pcm_width"]

BYTES_PER_SAMPLE = {"pcm_16": 2, "pcm_24": 3, "pcm_32": 4, "float_32": 4}
STATEFUL = frozenset({"ChunkQueue", "StreamingBuffer"})
"""Classes whose methods the queue and buffer machines drive (their constructors are here)."""
RATES = st.integers(8000, 48000)
CHANNELS = st.integers(1, 2)

EXPECTED = {
    "config_refused": "an invalid configuration (size < 1, negative or NaN duration, "
                      "percentage outside 0..100 or low above high water mark, unknown "
                      "policy or format, wrong type) is refused at construction with "
                      "ValueError/TypeError naming the argument; a valid one is accepted",
    "bad_input_refused": "invalid arguments (the same rule as for configurations) are "
                         "refused with ValueError/TypeError; valid ones are accepted",
    "duration": "PCM: duration = bytes / (bytes per sample x channels) / sample rate x 1000 "
                "(PCM_16: 2 bytes, PCM_24: 3, PCM_32 and FLOAT_32: 4); compressed formats: "
                "no duration derived from the byte count (raise, or the duration the "
                "caller gave)",
}


def pcm_width(fmt: str) -> int | None:
    """Bytes per sample of a PCM or float format value (``pcm_24`` -> 3), else None."""
    match = re.fullmatch(r"(?:pcm|float|int|s)_?(\d+)(?:le)?", fmt.lower())
    if match is None or int(match.group(1)) % 8:
        return None
    return int(match.group(1)) // 8


def _has(target: Any, part: str) -> bool:
    """Whether ``target`` has ``part`` (a target without ``has`` has the three classic ones)."""
    has = getattr(target, "has", None)
    return has(part) if callable(has) else part in ("queue", "buffer", "chunk")


class ObjectsMachine(FuzzMachine):
    """Public callables with valid and invalid arguments; duration arithmetic per format.

    Every rule is independent of the others, so a defect already found (masked) is skipped
    and the example goes on.
    """

    component = "objects"
    independent_rules = True
    max_steps = 5
    properties = (*EXPECTED, "unexpected_error")
    _callables: ClassVar[weakref.WeakKeyDictionary[Any, list[CallableSpec]]] = \
        weakref.WeakKeyDictionary()

    # -- discovery -------------------------------------------------------------------------

    def callables(self) -> list[CallableSpec]:
        """The target's public callables that take configured arguments (cached per target
        object while it lives)."""
        try:
            return self._callables[self.target]
        except (KeyError, TypeError):
            pass
        module = getattr(self.target, "module", None)
        found = arguments.discover(module, stateful=STATEFUL) if module is not None \
            else self._factories()
        with contextlib.suppress(TypeError):  # a target that cannot be weakly referenced
            self._callables[self.target] = found
        return found

    def _factories(self) -> list[CallableSpec]:
        """A target without a module: its three factories, configured the same way."""
        target = self.target
        p = arguments.Param

        def param(name: str, required: bool = True) -> arguments.Param:
            return p(name, arguments.kind_of(name), required)

        data = p("data", None, True, filler=(bytes(4), "bytes(4)"))
        size = p("max_size", arguments.kind_of("max_size"), True,
                 zero_valid=bool(self.declared_valid(target)))
        specs = {
            "queue": CallableSpec("ChunkQueue", "ChunkQueue()", "config_refused",
                                  "sf.ChunkQueue", (size,),
                                  lambda: target.make_queue),
            "buffer": CallableSpec("StreamingBuffer", "StreamingBuffer()", "config_refused",
                                   "sf.StreamingBuffer",
                                   tuple(param(n) for n in ("target_duration_ms",
                                                            "max_duration_ms", "sample_rate",
                                                            "channels")),
                                   lambda: target.make_buffer),
            "chunk": CallableSpec("AudioChunk", "AudioChunk()", "config_refused",
                                  "sf.AudioChunk",
                                  (data, param("sample_rate"), param("channels")),
                                  lambda: target.make_chunk),
        }
        # only the parts the target has: a queue-only library has no buffer to configure,
        # and the harness's chunk record is not the target's to judge
        return [spec for part, spec in specs.items() if _has(target, part)]

    @staticmethod
    def declared_valid(target: Any) -> dict[str, str]:
        """The checks whose invalid input ``target``'s declarations narrow, and the
        declaration: a queue (made by ``make_queue``: no module of Stageflow's API) whose
        size of 0 the target gives a meaning (``queue.zero_size`` other than ``refused``)
        is made with 0 as valid input, so ``config_refused`` never files it (negative sizes
        and wrong types are still drawn as invalid)."""
        semantics = getattr(target, "semantics", None)
        value = semantics.value("queue.zero_size") if semantics is not None else None
        if value in (None, "refused") or getattr(target, "module", None) is not None or \
                not _has(target, "queue"):
            return {}
        decl = semantics["queue.zero_size"]
        quote = f': "{decl.quote}"' if decl.quote else ""
        return {"fuzz/config_refused":
                f"a size of 0 is valid input for {getattr(target, 'name', 'the target')}, "
                f"which declares queue.zero_size = {value!r} ({decl.where}{quote}); "
                "sizes below 0 and wrong types are still probed"}

    def formats(self) -> list[str]:
        """The target's audio format values (every member of its ``AudioFormat``)."""
        enum = getattr(getattr(self.target, "module", None), "AudioFormat", None)
        if enum is None:
            return sorted(BYTES_PER_SAMPLE)
        return sorted(str(member.value) for member in enum)

    # -- rules -----------------------------------------------------------------------------

    @rule(data=st.data())
    @guarded
    def configure(self, data: st.DataObject) -> None:
        """Call every public callable once, each with drawn arguments: refused iff one is
        bad. (Every callable every time: drawing one would favour the first ones.)"""
        for spec in self.callables():
            self.log.rule_start = len(self.log.lines)  # a reproduction is this call alone
            values, valid, args = arguments.draw_call(data, spec)
            got = runtime.construct(lambda spec=spec, values=values: arguments.call(spec, values))
            self.soft_expect((spec.component, spec.prop, spec.operation),
                             f"construct(lambda: {spec.code}({args}))", got,
                             {"made"} if valid else {"raised:refused"}, EXPECTED[spec.prop])

    @precondition(lambda self: _has(self.target, "chunk"))
    @rule(data=st.data(), rate=RATES, channels=CHANNELS)
    @guarded
    def audio_chunk(self, data: st.DataObject, rate: int, channels: int) -> None:
        """A valid chunk of every format: its duration, derived or not."""
        for fmt in self.formats():
            self.log.rule_start = len(self.log.lines)  # a reproduction is this chunk alone
            self._chunk(data, fmt, rate, channels)

    def _chunk(self, data: st.DataObject, fmt: str, rate: int, channels: int) -> None:
        width = BYTES_PER_SAMPLE.get(fmt) or pcm_width(fmt)
        if width is None:
            self._compressed_chunk(data, fmt, rate, channels)
            return
        frames = data.draw(st.integers(0, 2000), label=f"{fmt} frames")
        size = frames * width * channels
        made: list[Any] = []
        self.log.code("chunk = []")
        got = runtime.construct(lambda: made.append(self.target.make_chunk(
            bytes(size), sample_rate=rate, channels=channels, fmt=fmt)))
        code = self._chunk_code(size, rate, channels, fmt)
        self.soft_expect(("AudioChunk", "config_refused", "AudioChunk()"),
                         f"construct(lambda: chunk.append({code}))", got, {"made"},
                         EXPECTED["config_refused"])
        if not made:
            return
        chunk = made[0]
        expected = frames / rate * 1000.0
        got = runtime.close_to(lambda: chunk.duration_ms, expected)
        self.soft_expect(("AudioChunk", "duration", f"duration_ms ({fmt})"),
                         f"close_to(lambda: chunk[0].duration_ms, {expected!r})", got,
                         {"as expected"}, EXPECTED["duration"])

    @staticmethod
    def _chunk_code(size: int, rate: int, channels: int, fmt: str, extra: str = "") -> str:
        return (f"sf.AudioChunk(data=bytes({size}), sample_rate={rate}, channels={channels}, "
                f"format=sf.AudioFormat({fmt!r}){extra})")

    def _duration_parameter(self) -> str | None:
        """The chunk constructor's parameter for a caller-given duration, if it has one."""
        cls = getattr(getattr(self.target, "module", None), "AudioChunk", None)
        if cls is None:
            return None
        try:
            names = inspect.signature(cls).parameters
        except (TypeError, ValueError):
            return None
        return next((n for n in names if n.startswith("duration")), None)

    def _compressed_chunk(self, data: st.DataObject, fmt: str, rate: int, channels: int) -> None:
        # at least one byte: an empty chunk lasts 0 ms in any format, which is no defect
        size = data.draw(st.integers(1, 4000), label=f"{fmt} bytes")
        hint_name = self._duration_parameter()
        hint = data.draw(st.none() | st.floats(0.0, 1000.0), label="duration given") \
            if hint_name else None
        extra = f", {hint_name}={hint!r}" if hint is not None else ""
        made: list[Any] = []
        self.log.code("chunk = []")
        if hint is not None:
            cls = self.target.module.AudioChunk

            def build() -> None:
                made.append(cls(data=bytes(size), sample_rate=rate, channels=channels,
                                format=self.target.audio_format(fmt), **{hint_name: hint}))
        else:
            def build() -> None:
                made.append(self.target.make_chunk(bytes(size), sample_rate=rate,
                                                   channels=channels, fmt=fmt))
        got = runtime.construct(build)
        self.soft_expect(("AudioChunk", "config_refused", "AudioChunk()"),
                         f"construct(lambda: chunk.append("
                         f"{self._chunk_code(size, rate, channels, fmt, extra)}))",
                         got, {"made"}, EXPECTED["config_refused"])
        if not made:
            return
        chunk = made[0]
        if hint is not None:
            got = runtime.close_to(lambda: chunk.duration_ms, hint)
            expr, allowed = f"close_to(lambda: chunk[0].duration_ms, {hint!r})", {"as expected"}
        else:
            got = runtime.raises(lambda: chunk.duration_ms)
            expr, allowed = "raises(lambda: chunk[0].duration_ms)", {"raised"}
        self.soft_expect(("AudioChunk", "duration", "duration_ms (compressed)"), expr, got,
                         allowed, EXPECTED["duration"])

    @rule(byte_count=st.integers(0, 10_000), rate=RATES, channels=CHANNELS,
          width=st.integers(1, 4))
    @guarded
    def duration_function(self, byte_count: int, rate: int, channels: int, width: int) -> None:
        fn = getattr(getattr(self.target, "module", None), "calculate_audio_duration_ms", None)
        if fn is None:
            return
        call = (f"sf.calculate_audio_duration_ms({byte_count}, sample_rate={rate}, "
                f"channels={channels}, bytes_per_sample={width})")
        expected = byte_count / (width * channels) / rate * 1000.0
        got = runtime.close_to(lambda: fn(byte_count, sample_rate=rate, channels=channels,
                                          bytes_per_sample=width), expected)
        self.soft_expect(("calculate_audio_duration_ms", "duration",
                          "calculate_audio_duration_ms"),
                         f"close_to(lambda: {call}, {expected!r})", got, {"as expected"},
                         EXPECTED["duration"])

