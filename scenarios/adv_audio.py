"""The adversarial suite, audio side: malformed chunks, extreme configurations, barge-in.

Audio is ramp audio (frame ``i`` holds ``i mod 2**16``) where the format is PCM_16, so
every read can be checked for torn frames, reordering and stale audio; other formats are
checked for whole frames and bounds. Everything goes through ``ctx.target``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mocks.producers import probe_full
from scenarios._common import (
    BUFFER_BOUNDS,
    READ_FRAMES,
    READ_INTEGRITY,
    TRIM_FRAMES,
    RampChecker,
    buffered_bytes,
    close_queue,
    full_probe,
    is_missing_capability,
    queue_policy,
    ramp_bytes,
    ramp_defects,
)
from scenarios.adv_queue import SUITE
from scenarios.context import ScenarioContext, has_part
from scenarios.registry import scenario

__all__ = ["adv_duplex_barge_in", "adv_extreme_configs", "adv_malformed_chunks"]

BYTES_PER_SAMPLE = {"pcm_16": 2, "pcm_24": 3, "pcm_32": 4, "float_32": 4}
_REFUSAL = {
    "partial_frame": ("StreamingBuffer", "add_chunk (partial frame)", "bad_input_refused"),
    **{kind: ("StreamingBuffer", "add_chunk (mismatched stream)", "bad_input_refused")
       for kind in ("other_rate", "other_channels", "other_format")},
}
"""Malformed chunk kind -> the defect when the buffer accepts it, or changes on refusing it."""


def _frames(ms: float, rate: int) -> int:
    return int(ms * rate / 1000)


def _level(buffer: Any, frame: int, rate: int) -> int:
    level = buffered_bytes(buffer)
    if level is None:
        level = round(float(buffer.duration_ms) * rate / 1000) * frame
    return level


def _malformed(kind: str, piece: bytes, make: Any) -> Any:
    """A chunk that does not fit a 16 kHz mono PCM_16 stream."""
    if kind == "partial_frame":
        return make(piece + b"\x00")
    if kind == "other_rate":
        return make(piece, sample_rate=22_050)
    if kind == "other_channels":
        return make(piece + piece, chans=2)
    return make(bytes(3 * 7), fmt="pcm_24")


@scenario(
    name="adv_malformed_chunks",
    category="correctness",
    hypotheses=("H2", "H5"),
    quick={"chunks": 120, "max_ms": 200.0, "malformed_every": 3, "deadline_s": 3.0},
    full={"chunks": 1500, "max_ms": 500.0, "malformed_every": 3, "deadline_s": 10.0},
    positive=("chunks", "max_ms", "malformed_every", "deadline_s"),
    suites=(SUITE,),
    requires=("part:buffer",),
)
async def adv_malformed_chunks(ctx: ScenarioContext) -> None:
    """Valid audio interleaved with malformed and mismatched chunks (partial frames, other
    rate, channels or format, empty, oversized): bad ones are refused and change nothing,
    reads stay whole frames and in order, the buffer stays within its bound."""
    p = ctx.params
    rate, channels, chunk_ms = 16_000, 1, 20.0
    frame = 2 * channels
    buffer = ctx.target.make_buffer(target_duration_ms=40.0, max_duration_ms=p["max_ms"],
                                    sample_rate=rate, channels=channels,
                                    event_emitter=ctx.trace.emitter)
    ctx.watch_buffer(buffer, max_ms=p["max_ms"], name="malformed")
    ctx.sends_into_buffer()
    checker = RampChecker(channels)
    per_chunk = _frames(chunk_ms, rate)
    position = 0
    kinds = ["partial_frame", "other_rate", "other_channels", "other_format", "empty",
             "oversized"]
    accepted_bad: list[str] = []
    changed_on_refusal: list[str] = []
    refused_good: list[str] = []
    changed_kinds: list[str] = []
    oversized_over_bound = 0

    def make(data: bytes, *, sample_rate: int = rate, chans: int = channels,
             fmt: str = "pcm_16") -> Any:
        return ctx.target.make_chunk(data, sample_rate=sample_rate, channels=chans, fmt=fmt)

    for index in range(p["chunks"]):
        data = ramp_bytes(position, per_chunk, channels)
        position += per_chunk
        try:
            buffer.add_chunk(make(data))
        except (ValueError, TypeError) as exc:
            refused_good.append(f"chunk {index}: {exc}")
        if index % p["malformed_every"] == p["malformed_every"] - 1:
            kind = kinds[(index // p["malformed_every"]) % len(kinds)]
            before = _level(buffer, frame, rate)
            if kind == "oversized":
                frames = _frames(p["max_ms"] * 3, rate)
                try:
                    buffer.add_chunk(make(ramp_bytes(position, frames, channels)))
                    position += frames
                except (ValueError, TypeError) as exc:
                    refused_good.append(f"oversized chunk: {exc}")
                if _level(buffer, frame, rate) > _frames(p["max_ms"], rate) * frame:
                    oversized_over_bound += 1
            elif kind == "empty":
                try:
                    buffer.add_chunk(make(b""))
                except (ValueError, TypeError) as exc:
                    refused_good.append(f"empty chunk: {exc}")
                if _level(buffer, frame, rate) != before:
                    changed_on_refusal.append("empty chunk changed the level")
            else:
                try:
                    chunk = _malformed(kind, ramp_bytes(position, 7, channels), make)
                except Exception:  # the target refuses to even build it: fine
                    continue
                try:
                    buffer.add_chunk(chunk)
                    accepted_bad.append(kind)
                except (ValueError, TypeError):
                    pass
                if _level(buffer, frame, rate) != before and kind not in accepted_bad:
                    changed_on_refusal.append(f"{kind}: level {before} -> "
                                              f"{_level(buffer, frame, rate)}")
                    changed_kinds.append(kind)
        out = buffer.read(chunk_ms)
        ctx.trace.sample("read_bytes.malformed", len(out))
        checker.check(out)
        await asyncio.sleep(0)
    ctx.expect_frames(frame, series="read_bytes.malformed")
    ctx.expect("buffer_refuses_malformed_chunks", not accepted_bad,
               f"accepted {len(accepted_bad)} malformed chunks "
               f"({', '.join(sorted(set(accepted_bad)))})" if accepted_bad else
               "every malformed chunk refused", hypotheses=("H2", "H5"),
               defects=[_REFUSAL[kind] for kind in sorted(set(accepted_bad))])
    ctx.expect("buffer_unchanged_by_refusal", not changed_on_refusal,
               "; ".join(changed_on_refusal[:3]) or "levels unchanged", hypotheses=("H5",),
               defects=[_REFUSAL[kind] for kind in sorted(set(changed_kinds))])
    ctx.expect("buffer_accepts_valid_chunks", not refused_good,
               "; ".join(refused_good[:2]) or "all valid chunks accepted", hypotheses=("H2",),
               defects=[("StreamingBuffer", "add_chunk", "outcome")])
    ctx.expect("buffer_bounds_oversized_chunk", oversized_over_bound == 0,
               f"{oversized_over_bound} oversized chunks left the buffer above "
               f"{p['max_ms']:g} ms", hypotheses=("H2",), defects=[BUFFER_BOUNDS])
    if accepted_bad:  # the audio was corrupted by what the buffer accepted: one root cause
        ctx.note("buffer_audio_intact", "not judged: malformed chunks were accepted")
        return
    ctx.expect("buffer_audio_intact", checker.corrupt == 0 and checker.backwards == 0,
               checker.first_problem or f"{checker.reads} reads intact, "
               f"{checker.gaps} gaps from overflow trims", hypotheses=("H2",),
               defects=ramp_defects(checker))


def _run_config(target: Any, *, rate: int, channels: int, fmt: str, max_ms: float,
                chunks: int) -> tuple[str, tuple[str, str, str] | None]:
    """Stream ``chunks`` 20 ms chunks through one buffer, reading 10 ms twice after each;
    return the first problem and the defect it shows, or ``("", None)`` when reads were
    whole frames and the bound held."""
    frame = BYTES_PER_SAMPLE[fmt] * channels
    buffer = target.make_buffer(target_duration_ms=0.0, max_duration_ms=max_ms,
                                sample_rate=rate, channels=channels, fmt=fmt)
    per_chunk = _frames(20.0, rate)
    bound = _frames(max_ms, rate) * frame
    checker = RampChecker(channels) if fmt == "pcm_16" else None
    position = 0
    for _ in range(chunks):
        if fmt == "pcm_16":
            data = ramp_bytes(position, per_chunk, channels)
        else:
            data = bytes((position + i) % 251 for i in range(per_chunk * frame))
        position += per_chunk
        dropped = buffer.add_chunk(target.make_chunk(data, sample_rate=rate, channels=channels,
                                                     fmt=fmt))
        if isinstance(dropped, int) and dropped % frame:
            return f"an overflow trim of {dropped} B, not whole {frame}-byte frames", TRIM_FRAMES
        level = _level(buffer, frame, rate)
        if level > bound:
            return f"holds {level} B, bound {bound} B", BUFFER_BOUNDS
        for _ in range(2):
            out = buffer.read(10.0)
            if len(out) % frame:
                return f"read {len(out)} B, not whole {frame}-byte frames", READ_FRAMES
            if checker is not None:
                checker.check(out)
                if checker.corrupt or checker.backwards:
                    return checker.first_problem, READ_INTEGRITY
    buffer.clear()
    left = buffered_bytes(buffer)
    if left:  # cleared, it holds nothing: a level that says otherwise is wrong
        return f"reports {left} B held after clear()", ("StreamingBuffer", "clear", "level")
    return "", None


@scenario(
    name="adv_extreme_configs",
    category="correctness",
    hypotheses=("H1", "H2"),
    quick={"chunks": 12, "huge_ms": 60_000.0, "queue_items": 200, "deadline_s": 8.0},
    full={"chunks": 100, "huge_ms": 60_000.0, "queue_items": 5000, "deadline_s": 30.0},
    positive=("chunks", "huge_ms", "queue_items", "deadline_s"),
    suites=(SUITE,),
)
async def adv_extreme_configs(ctx: ScenarioContext) -> None:
    """Sample rates from 8 to 48 kHz, mono and stereo, every PCM format the target takes,
    tiny (below one chunk) and huge buffers, queues of 1 and 10,000 items (each part where
    the target has it)."""
    if has_part(ctx.target, "buffer"):
        await _extreme_buffers(ctx)
    else:
        ctx.skip("buffer", "the target has no buffer: extreme buffer configurations not run")
    if has_part(ctx.target, "queue"):
        await _extreme_queues(ctx)
    else:
        ctx.skip("queue", "the target has no queue: extreme queue sizes not run")


async def _extreme_buffers(ctx: ScenarioContext) -> None:
    p = ctx.params
    formats = list(BYTES_PER_SAMPLE) if ctx.target.capabilities.buffer_formats else ["pcm_16"]
    if len(formats) == 1:
        ctx.note("formats", "pcm_16 only: the target's buffer takes no format argument")
    tested = 0
    failures: list[str] = []
    defects: list[tuple[str, str, str]] = []
    unexplained = False
    for rate in (8_000, 11_025, 16_000, 22_050, 44_100, 48_000):
        for channels in (1, 2):
            for fmt in formats:
                for max_ms in (7.0, p["huge_ms"]):
                    try:
                        problem, key = _run_config(ctx.target, rate=rate, channels=channels,
                                                   fmt=fmt, max_ms=max_ms, chunks=p["chunks"])
                    except Exception as exc:
                        if is_missing_capability(exc):  # the target says it cannot: not run
                            ctx.skip(exc.capability, str(exc))  # type: ignore[attr-defined]
                            continue
                        problem, key = f"raised {type(exc).__name__}: {exc}", None
                    tested += 1
                    if problem:
                        if key is None:
                            unexplained = True
                        elif key not in defects:
                            defects.append(key)
                        failures.append(f"{rate} Hz x{channels} {fmt} max {max_ms:g} ms: "
                                        f"{problem}")
                    await asyncio.sleep(0)
    ctx.note("buffer_configs", {"tested": tested, "failed": len(failures),
                                "failures": failures[:10]})
    ctx.expect("extreme_buffer_configs_intact", not failures,
               failures[0] if failures else f"{tested} configurations intact",
               hypotheses=("H2",), defects=[] if unexplained else defects)


async def _extreme_queues(ctx: ScenarioContext) -> None:
    p = ctx.params
    make = ctx.target.make_chunk
    policy = queue_policy(ctx.target)
    for index, size in enumerate((1, 10_000)):
        queue = ctx.target.make_queue(size, overflow=policy, event_emitter=ctx.trace.emitter)
        ctx.watch_queue(queue, max_size=size, name=f"queue_{size}")
        producer = 100 + index

        no_room = full_probe(queue, size, policy=policy)

        async def produce(queue: Any = queue, producer: int = producer,
                          no_room: Any = no_room, queue_size: int = size) -> None:
            for seq in range(p["queue_items"]):
                chunk = make(b"\x00\x00", sample_rate=16_000, channels=1,
                             sequence=producer * 2**32 + seq)
                began = time.perf_counter_ns()
                was_full = probe_full(no_room)
                result = await queue.put(chunk)
                ctx.trace.sent(producer, seq, began, began, time.perf_counter_ns(),
                               "dropped" if result is False else "queued", was_full)
            await close_queue(queue, ctx=ctx, name=f"queue_{queue_size}")

        async def consume(queue: Any = queue) -> None:
            while True:
                try:
                    item = await queue.get()
                except ctx.target.end_errors:  # the stream's end, as the target declares it
                    return
                if item is None:
                    return
                ctx.trace.received(0, *divmod(item.sequence, 2**32),
                                   time.perf_counter_ns())

        consumer = ctx.spawn(consume(), name=f"queue-{size}-consumer")
        await ctx.spawn(produce(), name=f"queue-{size}-producer")
        await consumer


@scenario(
    name="adv_duplex_barge_in",
    category="reliability",
    hypotheses=("H2", "H4", "H5"),
    quick={"reply_ms": 2000.0, "barge_in_after_ms": 300.0, "mic_chunks": 50,
           "deadline_s": 3.0},
    full={"reply_ms": 10_000.0, "barge_in_after_ms": 1500.0, "mic_chunks": 500,
          "deadline_s": 10.0},
    positive=("reply_ms", "barge_in_after_ms", "mic_chunks", "deadline_s"),
    suites=(SUITE,),
    requires=("duplex",),
)
async def adv_duplex_barge_in(ctx: ScenarioContext) -> None:
    """The user speaks while a reply is playing: interrupt() must flush pending playback
    (with an event), the next audio played is the new reply, and mic input is untouched."""
    p = ctx.params
    rate, channels = 16_000, 1
    duplex = ctx.target.make_duplex(sample_rate=rate, channels=channels,
                                    event_emitter=ctx.trace.emitter)
    per_chunk = _frames(20.0, rate)

    def chunk(position: int, sequence: int = 0) -> Any:
        return ctx.target.make_chunk(ramp_bytes(position, per_chunk, channels),
                                     sample_rate=rate, channels=channels, sequence=sequence)

    async def mic() -> None:  # capture side, concurrently with playback
        for seq in range(p["mic_chunks"]):
            began = time.perf_counter_ns()
            await duplex.send_input(chunk(seq * per_chunk, sequence=500 * 2**32 + seq))
            ctx.trace.sent(500, seq, began, began, time.perf_counter_ns(), "queued")
            await asyncio.sleep(0)

    async def pipeline() -> None:
        while True:
            item = await duplex.receive_input()
            if item is None:
                return
            ctx.trace.received(0, *divmod(item.sequence, 2**32), time.perf_counter_ns())

    listener = ctx.spawn(pipeline(), name="pipeline")
    capture = ctx.spawn(mic(), name="mic")
    for i in range(int(p["reply_ms"] // 20)):  # a reply written faster than real time
        duplex.write_output(chunk(i * per_chunk))
    checker = RampChecker(channels)
    for _ in range(int(p["barge_in_after_ms"] // 20)):
        checker.check(duplex.read_output(20.0))
        await asyncio.sleep(0)
    events_before = len(ctx.trace.events_named("stream.playback_interrupted"))
    flushed = duplex.interrupt()
    pending_after = _level(duplex.outbound, 2 * channels, rate)
    events_after = len(ctx.trace.events_named("stream.playback_interrupted"))
    new_reply = 40_000
    duplex.write_output(chunk(new_reply))
    first = duplex.read_output(20.0)
    first_position = int.from_bytes(first[:2], "little") if first else None
    await capture
    await close_queue(duplex)
    await listener
    ctx.expect("barge_in_flushes_playback", pending_after == 0 and flushed > 0,
               f"interrupt() flushed {flushed} B, {pending_after} B still pending",
               hypotheses=("H2",))
    ctx.expect("barge_in_reported", events_after == events_before + 1,
               f"{events_after - events_before} stream.playback_interrupted events",
               hypotheses=("H4",))
    ctx.expect("no_stale_audio_after_barge_in", first_position == new_reply,
               f"first frame after barge-in holds position {first_position}, the new reply "
               f"starts at {new_reply}", hypotheses=("H2",))
    ctx.expect("playback_intact_before_barge_in", checker.corrupt == 0,
               checker.first_problem or f"{checker.reads} reads intact", hypotheses=("H2",))
