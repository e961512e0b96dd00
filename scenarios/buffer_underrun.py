"""buffer_underrun: the network stalls, playout runs dry, then the held audio arrives."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from mocks.consumers import PlayoutLatency, PlayoutReport, playout_consumer
from mocks.producers import as_async, open_loop_producer
from mocks.signals import chunk_frames, frame_bytes
from mocks.trace import make_sequence, split_sequence
from scenarios._common import (
    EventTap,
    ReadProbe,
    buffered_bytes,
    never_full,
    parse_format,
    ramp_bytes,
    ramp_defects,
)
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["buffer_underrun"]


class NetworkStall:
    """Real-time chunks; those due during the stall all arrive together when it ends."""

    def __init__(self, *, chunk_ms: float, stall_at: int, stall_ms: float) -> None:
        self.chunk_ns = round(chunk_ms * 1e6)
        self.stall_at = stall_at
        self.stall_end_ns = stall_at * self.chunk_ns + round(stall_ms * 1e6)

    def offsets_ns(self, count: int) -> np.ndarray:
        offsets = np.arange(count, dtype=np.int64) * self.chunk_ns
        held = (np.arange(count) >= self.stall_at) & (offsets < self.stall_end_ns)
        offsets[held] = self.stall_end_ns
        return offsets


async def _one_format(ctx: ScenarioContext, spec: str, index: int) -> dict[str, Any]:
    p = ctx.params
    sample_rate, channels = parse_format(spec)
    name = f"buffer_{spec}"
    tap = EventTap(ctx.trace)
    buffer = ctx.target.make_buffer(
        target_duration_ms=p["target_ms"], max_duration_ms=p["max_ms"],
        sample_rate=sample_rate, channels=channels, fmt="pcm_16", event_emitter=tap)
    ctx.watch_buffer(buffer, max_ms=p["max_ms"], name=name)
    ctx.expect_frames(frame_bytes(channels, "pcm_16"), series=f"read_bytes.{name}")
    frames = chunk_frames(p["chunk_ms"], sample_rate)
    count = p["chunks"]
    rate = NetworkStall(chunk_ms=p["chunk_ms"], stall_at=p["stall_at"], stall_ms=p["stall_ms"])
    level_series = f"buffer_ms.{name}"
    added = {"bytes": 0, "dropped": 0}

    def make_chunk(producer: int, seq: int) -> Any:
        return ctx.target.make_chunk(
            ramp_bytes(seq * frames, frames, channels), sample_rate=sample_rate,
            channels=channels, fmt="pcm_16", timestamp_ms=seq * p["chunk_ms"],
            sequence=make_sequence(producer, seq))

    latency = PlayoutLatency(ctx.trace, consumer=index)

    def add(chunk: Any) -> bool:
        dropped = int(buffer.add_chunk(chunk) or 0)
        latency.wrote(*split_sequence(chunk.sequence), len(chunk.data), dropped)
        added["dropped"] += dropped
        added["bytes"] += len(chunk.data)
        ctx.trace.sample(level_series, float(buffer.duration_ms))
        return True

    total = count * frames * frame_bytes(channels, "pcm_16")
    probe = ReadProbe(buffer, name=name, channels=channels, trace=ctx.trace,
                      stop_after_bytes=total, latency=latency)
    # play until every frame sent has been played (the stall delays the end by its length)
    play_ms = (float(rate.offsets_ns(count)[-1]) / 1e6 + p["stall_ms"] + 2 * p["target_ms"]
               + 10 * p["read_ms"])
    start_ns = time.perf_counter_ns()
    ctx.trace.fault(f"network stall ({spec})", start_ns + p["stall_at"] * rate.chunk_ns,
                    start_ns + rate.stall_end_ns)
    writer = ctx.spawn(open_loop_producer(
        producer=index, count=count, rate=rate, make_chunk=make_chunk, put=as_async(add),
        trace=ctx.trace, start_ns=start_ns, full=never_full),
        name=f"writer-{spec}")
    reader = ctx.spawn(playout_consumer(
        probe, trace=ctx.trace, read_ms=p["read_ms"], duration_ms=play_ms,
        sample_rate=sample_rate, channels=channels, wait_ready=True, series=level_series,
        stop=probe.finished), name=f"player-{spec}")
    await writer
    played: PlayoutReport = await reader
    return {"spec": spec, "tap": tap, "buffer": buffer, "added": added, "probe": probe,
            "played": played, "frames_sent": count * frames}


def _judge(ctx: ScenarioContext, r: dict[str, Any]) -> None:
    p = ctx.params
    spec, tap, probe, played = r["spec"], r["tap"], r["probe"], r["played"]
    checker = probe.checker
    underrun_events = len(tap.named("stream.buffer_underrun"))
    recovered_events = len(tap.named("stream.buffer_recovered"))
    ctx.expect(
        f"underrun_detected[{spec}]", played.underruns >= 1 and underrun_events >= 1,
        f"player saw {played.underruns} underrun episodes ({played.short_reads} short reads), "
        f"buffer emitted {underrun_events} stream.buffer_underrun", hypotheses=("H2",),
        defects=[("StreamingBuffer", "read (short)", "underrun_visible")]
        if played.underruns else [], clause="buffer.underrun_events")
    worst = played.max_recovery_ms
    limit = p["stall_ms"] + p["recovery_slack_ms"]
    ctx.expect(
        f"recovered[{spec}]",
        not played.unrecovered and worst is not None and worst <= limit,
        f"recovery took {worst if worst is None else round(worst, 1)} ms (limit {limit:g} ms)"
        + ("; still in underrun at the end" if played.unrecovered else ""),
        hypotheses=("H8",))
    if played.underruns and not played.unrecovered:
        ctx.expect(
            f"recovery_reported[{spec}]", recovered_events >= 1,
            f"playback recovered from {played.underruns} underruns; the buffer emitted "
            f"{recovered_events} stream.buffer_recovered", hypotheses=("H8",),
            defects=[("StreamingBuffer", "read (full)", "underrun_visible")],
            clause="buffer.underrun_events")
    remaining = buffered_bytes(r["buffer"])
    if remaining is None:  # no level query: what was never played is not judged
        ctx.note(f"{spec}.never_played", "not judged: the buffer does not say what it holds")
    left = remaining or 0
    seen_in_reads = r["added"]["dropped"] == 0 and left == 0  # all else is in the reads
    ctx.expect(
        f"no_audio_lost[{spec}]",
        checker.corrupt == 0 and checker.backwards == 0 and checker.gaps == 0
        and r["added"]["dropped"] == 0 and left == 0,
        f"{checker.reads} reads: {checker.corrupt} corrupt, {checker.gaps} gaps "
        f"({checker.frames_skipped} frames skipped), {checker.backwards} went back, "
        f"{r['added']['dropped']} B dropped, {remaining} B never played"
        + (f"; first: {checker.first_problem}" if checker.first_problem else ""),
        hypotheses=("H2",),
        defects=(ramp_defects(checker) or [("StreamingBuffer", "read", "integrity")])
        if seen_in_reads else [])
    ctx.note(f"{spec}.underrun_ms", round(played.underrun_ms, 3))
    ctx.note(f"{spec}.recovery_ms", [round(x, 3) for x in played.recovery_ms])


@scenario(
    name="buffer_underrun",
    category="reliability",
    hypotheses=("H2", "H8"),
    quick={"formats": ["16000x1"], "chunk_ms": 20.0, "read_ms": 10.0, "target_ms": 60.0,
           "max_ms": 1000.0, "chunks": 40, "stall_at": 10, "stall_ms": 250.0,
           "recovery_slack_ms": 150.0, "deadline_s": 5.0},
    full={"formats": ["16000x1", "44100x2", "48000x1"], "chunk_ms": 20.0, "read_ms": 10.0,
          "target_ms": 60.0, "max_ms": 2000.0, "chunks": 250, "stall_at": 100,
          "stall_ms": 600.0, "recovery_slack_ms": 150.0, "deadline_s": 20.0},
    positive=("chunk_ms", "read_ms", "max_ms", "chunks", "deadline_s"),
    suites=("transform007",),
    requires=("part:buffer",),
)
async def buffer_underrun(ctx: ScenarioContext) -> None:
    """A network stall starves real-time playout: the underrun is reported, playback
    recovers as soon as the held audio arrives, and no frame is lost or reordered."""
    formats = ctx.params["formats"]
    for spec in formats:
        parse_format(spec)
    if ctx.params["stall_at"] >= ctx.params["chunks"]:
        raise ValueError("stall_at must be below chunks")
    ctx.sends_into_buffer()
    results = await asyncio.gather(*(_one_format(ctx, spec, i) for i, spec in enumerate(formats)))
    underruns = underrun_ms = 0.0
    recoveries: list[float] = []
    for result in results:
        _judge(ctx, result)
        played: PlayoutReport = result["played"]
        underruns += played.underruns
        underrun_ms += played.underrun_ms
        recoveries.extend(played.recovery_ms)
    ctx.slo(underruns=int(underruns), underrun_ms=round(underrun_ms, 3),
            recovery_ms=round(max(recoveries), 3) if recoveries else None)
