"""Model-based fuzzing of a target's StreamingBuffer.

The model is the ``bytearray`` of audio the buffer should hold. Configurations are drawn
generally (sample rates 8-48 kHz, mono and stereo, every PCM format the target takes,
capacities from 1 ms up), and so are the chunks (empty, small, exactly the room left or one
frame more, larger than the capacity) and the reads (fractions of a frame to several
capacities). Properties (DESIGN.md):

- ``bounds``: the buffer never holds more than ``max_duration_ms``;
- ``whole_frames``: every read and every overflow trim is a multiple of the frame size;
- ``integrity``: reads return the oldest audio held, byte for byte; audio that fits is kept;
- ``read_length``: a read returns what was asked (rounded to a whole frame) or all there is;
- ``no_silent_drop``: trimmed bytes are reported by ``stream.buffer_overflow`` events;
- ``bad_input_refused``: a chunk of another rate, channel count or format, a chunk of
  partial frames, a negative or NaN read duration are refused and change nothing;
- ``duration``: ``duration_ms`` agrees with the bytes held;
- ``underrun_visible``: a short read leaves the buffer in a reported underrun; a read that
  returns all it asked is not in underrun (``stream.buffer_recovered`` ends one);
- ``minimal_trim``: an overflow trims no more than it must: the buffer keeps the newest
  ``max_duration_ms`` of whole frames (over-trimming is silent data loss);
- ``readiness``: ``is_ready()`` is true exactly once ``target_duration_ms`` (whole frames,
  at most the capacity) is held, ``is_full()`` exactly once the capacity is held;
- ``stats``: every level the buffer reports (``stats['bytes_buffered']``,
  ``statistics().size_bytes``) is the bytes held, and ``stats`` counts the bytes received,
  read and trimmed;
- ``event_payload``: overflow, underrun and recovered events carry their documented keys.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from harness.fuzz import runtime
from harness.fuzz.core import FuzzMachine, guarded

__all__ = ["BufferMachine"]

COMPONENT = "StreamingBuffer"
BYTES_PER_SAMPLE = {"pcm_16": 2, "pcm_24": 3, "pcm_32": 4, "float_32": 4}
RATES = st.one_of(
    st.sampled_from([8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000]),
    st.integers(8000, 48000),
)
CAPACITIES_MS = st.one_of(st.integers(1, 300).map(float), st.floats(1.0, 300.0))

EXPECTED = {
    "bounds": "the buffer never holds more than max_duration_ms of audio",
    "whole_frames": "every read and every overflow trim is a whole number of frames "
                    "(channels x bytes per sample)",
    "integrity": "reads return the oldest audio held, byte for byte, and audio that fits "
                 "within max_duration_ms is kept",
    "read_length": "read(d) returns d rounded to a whole frame, or everything held if less",
    "no_silent_drop": "every trimmed byte is reported in stream.buffer_overflow events "
                      "(bytes_dropped)",
    "bad_input_refused": "a chunk of another sample rate, channel count or format, a chunk "
                         "of partial frames, and a negative or NaN read duration are refused "
                         "with ValueError/TypeError and leave the buffer unchanged",
    "duration": "duration_ms equals the bytes held / frame size / sample rate",
    "underrun_visible": "a read that returns less than asked emits stream.buffer_underrun "
                        "(the buffer is in underrun until stream.buffer_recovered); a read "
                        "that returns all it asked is not in underrun",
    "outcome": "a valid configuration is accepted; calls return what their contract says",
    "minimal_trim": "an overflow trims only what the bound requires, rounded up to a whole "
                    "frame: the buffer keeps the newest max_duration_ms of whole frames",
    "readiness": "is_ready() is true exactly when target_duration_ms (rounded up to whole "
                 "frames, at most the capacity) is held; is_full() exactly when the capacity "
                 "(max_duration_ms rounded down to whole frames) is held",
    "stats": "stats['bytes_buffered'] and statistics().size_bytes are the bytes held; "
             "stats counts the bytes received (total_received), read (total_read) and "
             "trimmed by overflow (total_dropped)",
    "event_payload": "stream.buffer_overflow carries bytes_dropped, buffer_duration_ms and "
                     "max_duration_ms; stream.buffer_underrun bytes_requested, "
                     "bytes_available and buffer_duration_ms; stream.buffer_recovered "
                     "buffer_duration_ms",
}
PAYLOAD_KEYS = {
    "stream.buffer_overflow": ("bytes_dropped", "buffer_duration_ms", "max_duration_ms"),
    "stream.buffer_underrun": ("bytes_requested", "bytes_available", "buffer_duration_ms"),
    "stream.buffer_recovered": ("buffer_duration_ms",),
}


def _parse(label: str) -> dict[str, str]:
    """``"a:1 b:2"`` -> ``{"a": "1", "b": "2"}``."""
    return dict(part.split(":", 1) for part in label.split())


class BufferMachine(FuzzMachine):
    """Random add_chunk/read/clear sequences on one buffer, checked against a bytes model."""

    component = COMPONENT
    part = "buffer"
    properties = (*EXPECTED, "emitter_failure_visible", "unexpected_error")

    @initialize(data=st.data(), rate=RATES, channels=st.integers(1, 2), max_ms=CAPACITIES_MS,
                target_share=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
                mode=st.sampled_from(["record", "raising"]))
    def setup(self, data: st.DataObject, rate: int, channels: int, max_ms: float,
              target_share: float, mode: str) -> None:
        mode = self.emitter_mode(mode)
        formats = sorted(BYTES_PER_SAMPLE) if self.target.capabilities.buffer_formats \
            else ["pcm_16"]
        self.fmt = data.draw(st.sampled_from(formats), label="format")
        self.rate, self.channels = rate, channels
        self.frame = BYTES_PER_SAMPLE[self.fmt] * channels
        self.max_ms = max_ms
        self.max_bytes = int(max_ms * rate / 1000 + 1e-9) * self.frame
        self.target_ms = max_ms * target_share
        self.model = bytearray()
        self.counted = {key: 0 for key in runtime.BUFFER_COUNTERS}
        self.counter = 0
        self.mark = 0
        target_ms = max_ms * target_share
        fmt_code = "" if self.fmt == "pcm_16" else f", format=sf.AudioFormat({self.fmt!r})"
        self.preamble = [
            "events = []",
            *self.emitter_code(mode),
            f"buf = sf.StreamingBuffer(target_duration_ms={target_ms!r}, "
            f"max_duration_ms={max_ms!r}, sample_rate={rate}, channels={channels}, "
            f"event_emitter=emit{fmt_code})",
        ]
        self.buffer = self.target.make_buffer(
            target_duration_ms=target_ms, max_duration_ms=max_ms, sample_rate=rate,
            channels=channels, fmt=self.fmt, event_emitter=self.emitter(mode))
        self.stats_seen = runtime.buffer_stats(self.buffer)

    # -- helpers -----------------------------------------------------------------------

    def begin(self) -> None:
        self.mark = len(self.events)
        self.log.code("mark = len(events)")

    def level(self) -> int:
        return runtime.level_bytes(self.buffer, self.frame, self.rate)

    def level_expr(self) -> str:
        return f"level_bytes(buf, {self.frame}, {self.rate})"

    def chunk(self, frames: int, extra: int, *, rate: int, channels: int, fmt: str) -> Any:
        self.counter += 1
        size = frames * BYTES_PER_SAMPLE[fmt] * channels + extra
        name = f"c{self.counter}"
        self.log.code(f"{name} = sf.AudioChunk(data=pattern({size}, {self.counter}), "
                      f"sample_rate={rate}, channels={channels}, "
                      f"format=sf.AudioFormat({fmt!r}))")
        data = runtime.pattern(size, self.counter)
        obj = self.target.make_chunk(data, sample_rate=rate, channels=channels, fmt=fmt)
        return name, obj, data

    def check_unchanged(self, op: str, before: int) -> None:
        after = self.level()
        if after != before:
            self.expect((COMPONENT, "bad_input_refused", op), f"f'level:{{{self.level_expr()}}}'",
                        f"level:{after}", {f"level:{before}"}, EXPECTED["bad_input_refused"])

    def finish(self, op: str) -> None:
        level = self.level()
        if level != len(self.model):
            self.expect((COMPONENT, "integrity", op), f"f'level:{{{self.level_expr()}}}'",
                        f"level:{level}", {f"level:{len(self.model)}"}, EXPECTED["integrity"])
        self.verify_payloads()
        self.verify_readiness(level)
        self.verify_stats(level)
        self.verify_emitter_failure(self.buffer, "buf")
        got = runtime.close_to(lambda: self.buffer.duration_ms,
                               level / self.frame / self.rate * 1000.0)
        if got != "as expected":
            self.soft_expect((COMPONENT, "duration", op),
                             f"close_to(lambda: buf.duration_ms, {self.level_expr()} / "
                             f"{self.frame} / {self.rate} * 1000.0)", got, {"as expected"},
                             EXPECTED["duration"])

    def verify_payloads(self) -> None:
        got = runtime.payload_gaps(self.events[self.mark:], PAYLOAD_KEYS)
        if got != "complete":
            self.soft_expect((COMPONENT, "event_payload", got.split(" lacks")[0]),
                             f"payload_gaps(events[mark:], {PAYLOAD_KEYS!r})", got,
                             {"complete"}, EXPECTED["event_payload"])

    def verify_readiness(self, level: int) -> None:
        """is_ready()/is_full() against the whole frames held (either answer where the
        float boundary is exact, and nothing judged while a partial frame is held)."""
        if level % self.frame:
            return  # a partial frame: a defect reported by whole_frames/bad_input_refused
        frames = level // self.frame
        max_frames = self.max_bytes // self.frame
        target = self.target_ms * self.rate / 1000
        need = min(math.ceil(target - 1e-9), max_frames)
        for method, threshold, exact in (("is_ready", need, target),
                                         ("is_full", max_frames, self.max_ms * self.rate / 1000)):
            fn = getattr(self.buffer, method, None)
            if not callable(fn):
                continue
            allowed = {f"ok:{frames >= threshold}"}
            if abs(frames - exact) <= 1e-6 * max(1.0, exact):
                allowed = {"ok:True", "ok:False"}
            got = runtime.call_sync(fn)
            if got not in allowed:
                self.soft_expect((COMPONENT, "readiness", method), f"call_sync(buf.{method})",
                                 got, allowed, EXPECTED["readiness"])

    def verify_stats(self, level: int) -> None:
        """Reported levels are the bytes held; counters moved by what this step did. A
        defect is filed under the field that is wrong."""
        levels = runtime.buffer_levels(self.buffer)
        expected = " ".join(f"{part.split(':')[0]}:{level}" for part in levels.split())
        if levels != expected:
            wrong = next(a for a, b in zip(levels.split(), expected.split(), strict=True)
                         if a != b).split(":")[0]
            field = "stats['bytes_buffered']" if wrong == "stats" else "statistics().size_bytes"
            self.soft_expect((COMPONENT, "stats", field), "buffer_levels(buf)", levels,
                             {expected}, EXPECTED["stats"])
        got = runtime.buffer_stats(self.buffer)
        seen = _parse(self.stats_seen)
        want = {key: seen[key] if not seen[key].isdigit()
                else str(int(seen[key]) + self.counted[key]) for key in runtime.BUFFER_COUNTERS}
        expected = " ".join(f"{key}:{value}" for key, value in want.items())
        self.stats_seen = got
        self.counted = dict.fromkeys(runtime.BUFFER_COUNTERS, 0)
        if got != expected:
            have = _parse(got)
            wrong = next(key for key in want if want[key] != have[key])
            self.soft_expect((COMPONENT, "stats", f"stats['{wrong}']"), "buffer_stats(buf)",
                             got, {expected}, EXPECTED["stats"])

    def imbalance(self) -> int | None:
        """received - (read + dropped + cleared + held) as the buffer's ``stats`` report
        them; None when it does not report all of them."""
        stats = getattr(self.buffer, "stats", None)
        keys = ("total_received", "total_read", "total_dropped", "bytes_buffered")
        if not isinstance(stats, dict) or not all(isinstance(stats.get(k), int) for k in keys):
            return None
        return stats["total_received"] - stats["total_read"] - stats["total_dropped"] - \
            stats["bytes_buffered"] - int(stats.get("total_cleared", 0) or 0)

    def verify_balance(self, before: int | None) -> None:
        """clear() keeps a buffer's accounting whole: the bytes it discards are counted
        (received = read + dropped + cleared + held holds as well after it as before)."""
        after = self.imbalance()
        if before is None or after is None or after == before:
            return
        stats = self.buffer.stats
        self.soft_expect(
            (COMPONENT, "stats", "clear (accounting)"), "balance(buf.stats)",
            runtime.balance(stats),
            {f"received {stats['total_received']}, accounted "
             f"{stats['total_received'] - before}"},
            "stats account for every byte: total_received = total_read + total_dropped "
            "(+ total_cleared) + bytes_buffered, before and after clear()")

    # -- rules -------------------------------------------------------------------------

    @rule(data=st.data())
    @guarded
    def add_chunk(self, data: st.DataObject) -> None:
        max_frames = self.max_bytes // self.frame
        room = max(0, max_frames - len(self.model) // self.frame)
        frames = data.draw(st.one_of(st.integers(0, max(1, max_frames // 4)),
                                     st.integers(0, 2 * max_frames + 2),
                                     st.sampled_from([room, room + 1])), label="frames")
        self.begin()
        name, chunk, raw = self.chunk(frames, 0, rate=self.rate, channels=self.channels,
                                      fmt=self.fmt)
        op = "add_chunk"
        got = runtime.accepted(runtime.call_sync(lambda: self.buffer.add_chunk(chunk)))
        self.expect((COMPONENT, "outcome", op),
                    f"accepted(call_sync(lambda: buf.add_chunk({name})))", got, {"accepted"},
                    "a chunk of the buffer's own format is accepted")
        joined = self.model + raw
        level = self.level()
        self.counted["total_received"] += len(raw)
        if len(joined) <= self.max_bytes:
            self.model = joined
            self.finish(op)
            return
        op = "add_chunk (overflow)"
        lvl = self.level_expr()
        if level > self.max_bytes:
            self.soft_expect((COMPONENT, "bounds", op),
                        f"'bounded' if {lvl} <= {self.max_bytes} else f'level:{{{lvl}}}'",
                        f"level:{level}", {"bounded"}, EXPECTED["bounds"], path=True)
        trimmed = len(joined) - level
        if trimmed % self.frame:
            self.soft_expect((COMPONENT, "whole_frames", "add_chunk (overflow trim)"),
                        f"'whole frames' if ({len(joined)} - {lvl}) % {self.frame} == 0 "
                        "else 'partial frame trimmed'",
                        "partial frame trimmed", {"whole frames"}, EXPECTED["whole_frames"],
                        path=True)
        reported = runtime.total(self.events[self.mark:], "stream.buffer_overflow",
                                 "bytes_dropped")
        if reported != trimmed:
            self.soft_expect((COMPONENT, "no_silent_drop", op),
                             "f\"reported:{total(events[mark:], 'stream.buffer_overflow', "
                             "'bytes_dropped')}\"", f"reported:{reported}",
                             {f"reported:{trimmed}"}, EXPECTED["no_silent_drop"])
        if level < self.max_bytes:
            self.soft_expect((COMPONENT, "minimal_trim", op),
                             f"'kept all that fits' if {lvl} >= {self.max_bytes} "
                             f"else f'level:{{{lvl}}}'", f"level:{level}",
                             {"kept all that fits"}, EXPECTED["minimal_trim"], path=True)
        self.resync(joined, op)
        self.finish(op)

    @rule(data=st.data(), kind=st.sampled_from(["partial", "rate", "channels", "format"]))
    @guarded
    def add_bad_chunk(self, data: st.DataObject, kind: str) -> None:
        frames = data.draw(st.integers(0, 64), label="frames")
        rate, channels, fmt, extra = self.rate, self.channels, self.fmt, 0
        if kind == "partial":
            extra = data.draw(st.integers(1, self.frame - 1), label="extra") \
                if self.frame > 1 else 1
        elif kind == "rate":
            rate = data.draw(st.integers(8000, 48000).filter(lambda r: r != self.rate),
                             label="rate")
        elif kind == "channels":
            channels = 3 - self.channels
        else:
            fmt = data.draw(st.sampled_from([f for f in BYTES_PER_SAMPLE if f != self.fmt]),
                            label="fmt")
        self.begin()
        name, chunk, _ = self.chunk(frames, extra, rate=rate, channels=channels, fmt=fmt)
        op = "add_chunk (partial frame)" if kind == "partial" else "add_chunk (mismatched stream)"
        before = self.level()
        got = runtime.accepted(runtime.call_sync(lambda: self.buffer.add_chunk(chunk)))
        self.soft_expect((COMPONENT, "bad_input_refused", op),
                         f"accepted(call_sync(lambda: buf.add_chunk({name})))", got,
                         {"raised:refused"}, EXPECTED["bad_input_refused"], path=True)
        if got == "accepted":
            # what follows an accepted invalid chunk is outside every contract: a later
            # check would blame the target for garbage (and its reproduction would reach
            # the symptom through this one), so the example ends here
            self.tainted = True
            return
        self.check_unchanged(op, before)
        self.finish(op)

    def resync(self, joined: bytearray, op: str) -> None:
        """The buffer kept the newest ``level`` bytes of ``joined``; follow it."""
        level = self.level()
        if level > len(joined):
            self.expect((COMPONENT, "integrity", op), f"f'level:{{{self.level_expr()}}}'",
                        f"level:{level}", {f"level:{len(joined)}"}, EXPECTED["integrity"])
        self.counted["total_dropped"] += max(0, len(joined) - level)
        self.model = joined[len(joined) - level:]

    @rule(duration=st.one_of(st.integers(0, 60).map(float), st.floats(0.0, 400.0)))
    @guarded
    def read(self, duration: float) -> None:
        self.begin()
        requested = duration * self.rate / 1000
        held = len(self.model) // self.frame
        lengths = {min(k, held) * self.frame
                   for k in (int(requested + 1e-9), math.ceil(requested - 1e-9))}
        allowed = {runtime.label_value(bytes(self.model[:n])) for n in lengths}
        result: Any = None

        def call() -> Any:
            nonlocal result
            result = self.buffer.read(duration)
            return result

        got = runtime.call_sync(call)
        op = "read"
        expr = f"call_sync(lambda: buf.read({duration!r}))"
        if got not in allowed:
            data = bytes(result) if isinstance(result, bytes | bytearray) else None
            if data is None or data != bytes(self.model[:len(data)]):
                prop = "integrity" if data is not None else "outcome"
                self.expect((COMPONENT, prop, op), expr, got, allowed, EXPECTED.get(
                    prop, "read(d) returns audio bytes"))
            # the right audio, the wrong amount: the model stays valid (soft)
            prop = "whole_frames" if len(data) % self.frame else "read_length"
            self.soft_expect((COMPONENT, prop, op), expr, got, allowed, EXPECTED[prop],
                             path=True)
        else:
            self.log.check(expr, allowed, got)
        size = len(result)
        del self.model[:size]
        self.counted["total_read"] += size
        wanted = int(requested + 1e-9) * self.frame
        if size < wanted and not runtime.underrun_visible(self.events):
            self.soft_expect((COMPONENT, "underrun_visible", "read (short)"),
                             "'underrun' if underrun_visible(events) else 'no underrun'",
                             "no underrun", {"underrun"}, EXPECTED["underrun_visible"])
        elif not size and not self.model and \
                runtime.count(self.events[self.mark:], "stream.buffer_recovered"):
            self.soft_expect((COMPONENT, "event_truth", "read (empty, nothing asked)"),
                             "f\"recovered events:{count(events[mark:], "
                             "'stream.buffer_recovered')}\"",
                             "recovered events:1", {"recovered events:0"},
                             "stream.buffer_recovered is emitted only when audio is there "
                             "again, never by a read that returns nothing from an empty buffer")
        elif size and size >= math.ceil(requested - 1e-9) * self.frame and \
                runtime.underrun_visible(self.events):
            self.soft_expect((COMPONENT, "underrun_visible", "read (full)"),
                             "'underrun' if underrun_visible(events) else 'no underrun'",
                             "underrun", {"no underrun"}, EXPECTED["underrun_visible"])
        self.finish(op)

    @rule(duration=st.one_of(st.floats(max_value=-1e-6, allow_nan=False,
                                       allow_infinity=False, min_value=-1e6),
                             st.just(math.nan)))
    @guarded
    def read_invalid(self, duration: float) -> None:
        self.begin()
        op = "read (negative or NaN duration)"
        before = self.level()
        code = "float('nan')" if math.isnan(duration) else repr(duration)
        result: list[Any] = []
        got = runtime.call_sync(lambda: result.append(self.buffer.read(duration)))
        if result:
            got = runtime.label_value(result[0])
        self.soft_expect((COMPONENT, "bad_input_refused", op),
                         f"call_sync(lambda: buf.read({code}))", got, {"raised:refused"},
                         EXPECTED["bad_input_refused"], path=True)
        if result:  # an invalid read that returned: the example ends (as for chunks)
            self.tainted = True
            return
        self.check_unchanged(op, before)
        self.finish(op)

    @rule()
    @guarded
    def clear(self) -> None:
        self.begin()
        before = self.imbalance()
        got = runtime.accepted(runtime.call_sync(self.buffer.clear))
        self.expect((COMPONENT, "outcome", "clear"), "accepted(call_sync(buf.clear))", got,
                    {"accepted"}, "clear() empties the buffer")
        self.model = bytearray()
        self.finish("clear")
        self.verify_balance(before)
