"""voice_slow_tts, voice_stalled_stt, voice_stage_crash: a voice pipeline under faulty
services — memory stays bounded, drops are reported, errors name their stage, nothing
hangs."""

from __future__ import annotations

from mocks.services import ServiceFault
from scenarios._voice import (
    glitches,
    judge_common,
    judge_stage_errors,
    make_services,
    percentiles,
    plan_turns,
    record_latency,
    session,
    voice_params,
    voice_to_voice,
    window,
)
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["voice_slow_tts", "voice_stage_crash", "voice_stalled_stt"]

_FAST = {"utterance_ms": 500.0, "stt_final_ms": 40.0, "llm_ttft_ms": 60.0,
         "tts_ttfb_ms": 40.0}


@scenario(
    name="voice_slow_tts",
    category="reliability",
    hypotheses=("H1", "H5"),
    quick=voice_params(**_FAST, tts_speed=0.5, reply_tokens=90, llm_tokens_per_s=200.0,
                       turns=1, turn_every_ms=3000.0, session_ms=3500.0,
                       memory_limit_mb=64, deadline_s=15.0),
    full=voice_params(tts_speed=0.5, reply_tokens=200, llm_tokens_per_s=100.0, turns=3,
                      turn_every_ms=20000.0, session_ms=60000.0, memory_limit_mb=64,
                      deadline_s=120.0),
    requires=("pipeline",),
    suites=("voice",),
    positive=("tts_speed", "reply_tokens", "turns", "session_ms"),
)
async def voice_slow_tts(ctx: ScenarioContext) -> None:
    """The TTS produces audio at half real-time speed while the LLM streams long replies:
    memory stays flat (bounded edges; in the full run the pipeline's own heap has no
    growth trend, ``memory_trend``), every dropped item is reported, the speaker's
    glitches are measured, and the session still shuts down within its deadline."""
    p = ctx.params
    plan = plan_turns(turns=p["turns"], utterance_ms=p["utterance_ms"],
                      gap_ms=p["turn_every_ms"] - p["utterance_ms"])
    last = max(t.start_ms + t.speech_ms for t in plan)
    ctx.bound_memory(int(p["memory_limit_mb"] * 1024 * 1024))  # RSS: harness included
    if not ctx.quick:  # a few seconds hold no steady window to fit a trend to
        ctx.expect_flat_memory(p["session_ms"] / 1000.0)  # the pipeline's own heap
    sess = await session(ctx, make_services(ctx), plan, tail_ms=max(0.0, p["session_ms"] - last))
    judge_common(ctx, sess)
    judge_stage_errors(ctx, sess)
    rows = voice_to_voice(ctx, sess)
    record_latency(ctx, rows)
    lost = glitches(sess, rows, reply_ms=p["reply_tokens"] * p["ms_per_token"],
                    playout_ms=p["playout_ms"])
    ctx.note("glitch_ms_per_turn", percentiles(lost))
    ctx.slo(underrun_ms=round(sum(lost), 3), underruns=sum(1 for x in lost if x > 0))


@scenario(
    name="voice_stalled_stt",
    category="reliability",
    hypotheses=("H1", "H5"),
    quick=voice_params(**_FAST, turns=2, stall_at_s=1.0, turn_every_ms=1500.0,
                       session_ms=4000.0, deadline_s=15.0),
    full=voice_params(turns=6, stall_at_s=5.0, turn_every_ms=4000.0, session_ms=30000.0,
                      deadline_s=60.0),
    requires=("pipeline",),
    suites=("voice",),
    positive=("turns", "session_ms"),
)
async def voice_stalled_stt(ctx: ScenarioContext) -> None:
    """The STT stops answering mid-session (a stall that never ends): the user's audio
    backs up into a bounded edge (drops reported), the rest of the pipeline stays
    responsive, and closing the session ends within its deadline."""
    p = ctx.params
    faults = {"stt": [ServiceFault("stall", window(p["stall_at_s"]))]}
    plan = plan_turns(turns=p["turns"], utterance_ms=p["utterance_ms"],
                      gap_ms=p["turn_every_ms"] - p["utterance_ms"])
    last = max(t.start_ms + t.speech_ms for t in plan)
    sess = await session(ctx, make_services(ctx, faults=faults), plan,
                         tail_ms=max(0.0, p["session_ms"] - last))
    record_latency(ctx, voice_to_voice(ctx, sess))
    judge_common(ctx, sess)
    judge_stage_errors(ctx, sess)
    ctx.note("close_report", sess.close_report)


@scenario(
    name="voice_stage_crash",
    category="reliability",
    hypotheses=("H5",),
    quick=voice_params(**_FAST, turns=2, turn_every_ms=1500.0, deadline_s=15.0),
    full=voice_params(**_FAST, turns=4, turn_every_ms=2500.0, deadline_s=30.0),
    requires=("pipeline",),
    suites=("voice",),
    positive=("turns",),
)
async def voice_stage_crash(ctx: ScenarioContext) -> None:
    """The LLM raises on its first call: the error is reported with the stage's name and
    the pipeline still shuts down within its deadline (no hang, no silent swallow)."""
    p = ctx.params
    faults = {"llm": [ServiceFault("crash", window(0.0))]}
    plan = plan_turns(turns=p["turns"], utterance_ms=p["utterance_ms"],
                      gap_ms=p["turn_every_ms"] - p["utterance_ms"])
    sess = await session(ctx, make_services(ctx, faults=faults), plan, tail_ms=500.0)
    judge_common(ctx, sess)
    judge_stage_errors(ctx, sess, expected="llm")
    ctx.note("feed_refused", len(sess.feed_errors) > 0)
