"""voice_soak: many turns back to back; memory must not trend upwards."""

from __future__ import annotations

from scenarios._voice import (
    judge_common,
    judge_stage_errors,
    make_services,
    percentiles,
    plan_turns,
    record_latency,
    session,
    voice_params,
    voice_to_voice,
)
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["voice_soak"]


@scenario(
    name="voice_soak",
    category="reliability",
    hypotheses=("H5", "H7"),
    quick=voice_params(utterance_ms=400.0, stt_final_ms=30.0, stt_final_p95_ms=60.0,
                       llm_ttft_ms=50.0, llm_ttft_p95_ms=120.0, tts_ttfb_ms=30.0,
                       tts_ttfb_p95_ms=80.0, reply_tokens=2, session_ms=4000.0,
                       memory_limit_mb=32, deadline_s=15.0),
    full=voice_params(stt_final_p95_ms=300.0, llm_ttft_p95_ms=500.0, tts_ttfb_p95_ms=300.0,
                      reply_tokens=3, session_ms=60000.0, memory_limit_mb=32,
                      deadline_s=120.0),
    requires=("pipeline",),
    suites=("voice",),
    positive=("session_ms", "reply_tokens"),
    duration="session_ms",
)
async def voice_soak(ctx: ScenarioContext) -> None:
    """Turns back to back for the whole session with log-normal service delays: memory
    stays within its limit and, in the full run, the pipeline's own heap has no growth
    trend (``memory_trend``); latency stays steady."""
    p = ctx.params
    expected = (p["vad_hangover_ms"] + p["stt_final_p95_ms"] + p["llm_ttft_p95_ms"]
                + p["tts_ttfb_p95_ms"] + p["reply_tokens"] * p["ms_per_token"])
    turn_ms = p["utterance_ms"] + expected + 300.0
    turns = max(1, int(p["session_ms"] // turn_ms))
    plan = plan_turns(turns=turns, utterance_ms=p["utterance_ms"],
                      gap_ms=turn_ms - p["utterance_ms"])
    ctx.bound_memory(int(p["memory_limit_mb"] * 1024 * 1024))  # RSS: harness included
    if not ctx.quick:  # a few seconds hold no steady window to fit a trend to
        ctx.expect_flat_memory(p["session_ms"] / 1000.0)  # the pipeline's own heap
    sess = await session(ctx, make_services(ctx), plan, tail_ms=expected)
    rows = voice_to_voice(ctx, sess)
    record_latency(ctx, rows)
    judge_common(ctx, sess)
    judge_stage_errors(ctx, sess)
    ctx.note("turns", turns)
    ctx.note("v2v_ms", percentiles([r["v2v_ms"] for r in rows]))
    ctx.note("hops_ms", percentiles([r["hops_ms"] for r in rows if "hops_ms" in r]))
