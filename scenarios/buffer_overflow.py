"""buffer_overflow: audio arrives faster than it is played; the buffer must trim, whole frames."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from mocks.consumers import PlayoutLatency, PlayoutReport, playout_consumer
from mocks.producers import ProducerReport, as_async, open_loop_producer
from mocks.signals import chunk_frames, frame_bytes
from mocks.trace import make_sequence, split_sequence
from scenarios._common import (
    EventTap,
    ReadProbe,
    Schedule,
    buffered_bytes,
    never_full,
    parse_format,
    ramp_bytes,
    ramp_defects,
)
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["buffer_overflow"]


async def _one_format(ctx: ScenarioContext, spec: str, index: int) -> dict[str, Any]:
    p = ctx.params
    sample_rate, channels = parse_format(spec)
    name = f"buffer_{spec}"
    frame = frame_bytes(channels, "pcm_16")
    tap = EventTap(ctx.trace)
    buffer = ctx.target.make_buffer(
        target_duration_ms=p["target_ms"], max_duration_ms=p["max_ms"],
        sample_rate=sample_rate, channels=channels, fmt="pcm_16", event_emitter=tap)
    ctx.watch_buffer(buffer, max_ms=p["max_ms"], name=name)
    ctx.expect_frames(frame, series=f"read_bytes.{name}")
    ctx.expect_frames(frame, series=f"dropped_bytes.{name}")

    real_time = 1000.0 / p["chunk_ms"]
    schedule = Schedule([(p["pre_chunks"], real_time),
                         (p["burst_chunks"], real_time * p["burst_factor"]),
                         (p["post_chunks"], real_time)])
    count = len(schedule)
    frames = np.full(count, chunk_frames(p["chunk_ms"], sample_rate), dtype=np.int64)
    oversize_at = p["pre_chunks"] + p["burst_chunks"] // 2
    if p["oversize_ms"] > 0:
        frames[oversize_at] = chunk_frames(p["oversize_ms"], sample_rate)
    starts = np.concatenate([[0], np.cumsum(frames)[:-1]])
    level_series = f"buffer_ms.{name}"
    dropped_series = f"dropped_bytes.{name}"
    totals = {"added": 0, "dropped": 0, "over_trimmed": 0}
    capacity = chunk_frames(p["max_ms"], sample_rate) * frame

    def make_chunk(producer: int, seq: int) -> Any:
        return ctx.target.make_chunk(
            ramp_bytes(int(starts[seq]), int(frames[seq]), channels), sample_rate=sample_rate,
            channels=channels, fmt="pcm_16", timestamp_ms=starts[seq] * 1000 / sample_rate,
            sequence=make_sequence(producer, seq))

    latency = PlayoutLatency(ctx.trace, consumer=index)

    def add(chunk: Any) -> bool:
        before = buffered_bytes(buffer)
        dropped = int(buffer.add_chunk(chunk) or 0)
        if before is not None and dropped:  # an overflow drops only what the bound requires
            needed = max(0, before + len(chunk.data) - capacity)
            totals["over_trimmed"] += max(0, dropped - (needed + frame - 1) // frame * frame)
        latency.wrote(*split_sequence(chunk.sequence), len(chunk.data), dropped)
        totals["added"] += len(chunk.data)
        totals["dropped"] += dropped
        if dropped:
            ctx.trace.sample(dropped_series, dropped)
        ctx.trace.sample(level_series, float(buffer.duration_ms))
        return True

    probe = ReadProbe(buffer, name=name, channels=channels, trace=ctx.trace, latency=latency)
    duration_ms = float(schedule.offsets_ns(count)[-1]) / 1e6 + p["chunk_ms"]
    writer = ctx.spawn(open_loop_producer(
        producer=index, count=count, rate=schedule, make_chunk=make_chunk, put=as_async(add),
        trace=ctx.trace, start_ns=time.perf_counter_ns(), full=never_full),
        name=f"writer-{spec}")
    reader = ctx.spawn(playout_consumer(
        probe, trace=ctx.trace, read_ms=p["read_ms"], duration_ms=duration_ms,
        sample_rate=sample_rate, channels=channels, wait_ready=True, series=level_series),
        name=f"player-{spec}")
    wrote: ProducerReport = await writer
    played: PlayoutReport = await reader
    return {"spec": spec, "frame": frame, "tap": tap, "buffer": buffer, "totals": totals,
            "probe": probe, "played": played, "wrote": wrote}


def _judge(ctx: ScenarioContext, r: dict[str, Any]) -> None:
    spec, frame, tap = r["spec"], r["frame"], r["tap"]
    totals, probe, played = r["totals"], r["probe"], r["played"]
    checker = probe.checker
    overflow_events = tap.named("stream.buffer_overflow")
    reported = sum(int(e.get("bytes_dropped", 0)) for e in overflow_events)
    overflow_key = ("StreamingBuffer", "add_chunk (overflow)", "no_silent_drop")
    if ctx.declares("buffer.overflow_events"):
        ctx.expect(
            f"overflow_detected[{spec}]",
            totals["dropped"] > 0 and len(overflow_events) > 0
            and reported == totals["dropped"],
            f"{totals['dropped']} B trimmed by add_chunk, {len(overflow_events)} "
            f"stream.buffer_overflow events reporting {reported} B", hypotheses=("H2",),
            defects=[overflow_key] if totals["dropped"] else [],
            clause="buffer.overflow_events")
    else:  # our recommendation only: no defect key, the trims are reported otherwise
        ctx.expect(
            f"overflow_detected[{spec}]", len(overflow_events) > 0,
            f"{len(overflow_events)} stream.buffer_overflow events for "
            f"{totals['dropped']} B trimmed", hypotheses=("H2",),
            clause="buffer.overflow_events")
    if buffered_bytes(r["buffer"]) is not None:  # the level before each trim is known
        ctx.expect(
            f"minimal_trim[{spec}]", totals["over_trimmed"] == 0,
            f"overflow trims dropped {totals['over_trimmed']} B more than the bound required",
            hypotheses=("H2",), defects=[("StreamingBuffer", "add_chunk (overflow)",
                                          "minimal_trim")])
    ctx.note(f"{spec}.overflow_events", len(overflow_events))
    ctx.note(f"{spec}.bytes_dropped", totals["dropped"])
    ctx.note(f"{spec}.chunks_played", r["probe"].latency.played)
    ctx.note(f"{spec}.chunks_trimmed", r["probe"].latency.dropped)
    ctx.note(f"{spec}.max_tick_lag_ms", round(played.max_tick_lag_ms, 3))
    remaining = buffered_bytes(r["buffer"])
    # trims reported by add_chunk's return value, else by the events' bytes_dropped
    dropped = totals["dropped"] or reported
    accounted = probe.bytes_read + dropped + (remaining or 0)
    # the audio played skips exactly what was reported dropped: a mismatch is the level's
    continuous = (checker.corrupt == 0 and checker.backwards == 0
                  and checker.frames_skipped == dropped // frame)
    if remaining is None:
        ctx.skip("buffer_level", "bytes_accounted: the buffer does not say how much it holds")
    else:
        ctx.expect(
            f"bytes_accounted[{spec}]", accounted == totals["added"],
            f"{totals['added']} B added = {probe.bytes_read} read + {dropped} dropped "
            f"+ {remaining} still buffered ({accounted - totals['added']:+d} B)",
            hypotheses=("H2",),
            defects=[("StreamingBuffer", "read", "level")] if continuous else [])
    ctx.expect(
        f"audio_intact[{spec}]", checker.corrupt == 0 and checker.backwards == 0,
        f"{checker.reads} reads: {checker.corrupt} corrupt, {checker.backwards} went back"
        + (f"; first: {checker.first_problem}" if checker.first_problem else ""),
        hypotheses=("H2",), defects=ramp_defects(checker))
    dropped_frames = dropped // frame
    events_promised = ctx.declares("buffer.overflow_events")
    if checker.corrupt:  # positions are unreadable in corrupt audio: nothing to judge here
        ctx.note(f"{spec}.recovery", "not judged: the audio read back was corrupt")
        return
    ctx.expect(
        f"recovered_after_overflow[{spec}]",
        played.underruns == 0 and checker.frames_skipped == dropped_frames
        and (not events_promised or checker.gaps <= len(overflow_events)),
        f"playback skipped {checker.frames_skipped} frames in {checker.gaps} gaps for "
        f"{dropped_frames} frames dropped in {len(overflow_events)} trims; "
        f"{played.underruns} underruns", hypotheses=("H8",),
        # more audio missing than was reported dropped: kept audio is not what was added
        defects=[("StreamingBuffer", "add_chunk (overflow)", "integrity")]
        if checker.frames_skipped > dropped_frames else [])


@scenario(
    name="buffer_overflow",
    category="reliability",
    hypotheses=("H2", "H8"),
    quick={"formats": ["16000x1", "22050x2"], "chunk_ms": 20.0, "read_ms": 10.0,
           "target_ms": 100.0, "max_ms": 500.0, "pre_chunks": 10, "burst_chunks": 30,
           "burst_factor": 3.0, "post_chunks": 15, "oversize_ms": 650.0, "deadline_s": 5.0},
    full={"formats": ["16000x1", "22050x2", "44100x2", "48000x1"], "chunk_ms": 20.0,
          "read_ms": 10.0, "target_ms": 100.0, "max_ms": 500.0, "pre_chunks": 50,
          "burst_chunks": 150, "burst_factor": 3.0, "post_chunks": 100,
          "oversize_ms": 650.0, "deadline_s": 20.0},
    positive=("chunk_ms", "read_ms", "max_ms", "burst_factor", "deadline_s"),
    suites=("transform007",),
    requires=("part:buffer",),
)
async def buffer_overflow(ctx: ScenarioContext) -> None:
    """Audio arrives 3x faster than real-time playout (and once as one oversized chunk):
    overflow is reported, the level never exceeds the max, frames stay whole, playback
    skips exactly the trimmed audio and carries on."""
    formats = ctx.params["formats"]
    for spec in formats:
        parse_format(spec)
    ctx.sends_into_buffer()
    results = await asyncio.gather(*(_one_format(ctx, spec, i) for i, spec in enumerate(formats)))
    for result in results:
        _judge(ctx, result)
