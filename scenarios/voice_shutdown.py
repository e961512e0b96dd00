"""voice_shutdown: hang up while the bot is mid-reply; the session must end in time."""

from __future__ import annotations

from scenarios._voice import (
    judge_common,
    judge_stage_errors,
    make_services,
    plan_turns,
    record_latency,
    session,
    voice_params,
    voice_to_voice,
)
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["voice_shutdown"]


@scenario(
    name="voice_shutdown",
    category="reliability",
    hypotheses=("H5",),
    quick=voice_params(utterance_ms=500.0, stt_final_ms=40.0, llm_ttft_ms=60.0,
                       tts_ttfb_ms=40.0, reply_tokens=60, llm_tokens_per_s=20.0,
                       hang_up_after_ms=400.0, deadline_s=10.0),
    full=voice_params(reply_tokens=120, llm_tokens_per_s=20.0, hang_up_after_ms=1500.0,
                      deadline_s=20.0),
    requires=("pipeline",),
    suites=("voice",),
    positive=("reply_tokens", "hang_up_after_ms"),
)
async def voice_shutdown(ctx: ScenarioContext) -> None:
    """The session is closed while the bot is speaking, the LLM is still streaming and the
    TTS synthesizing: close() ends within its deadline (``close_timeout_s``), nothing is
    abandoned, nothing raises."""
    p = ctx.params
    expected_v2v = (p["vad_hangover_ms"] + p["stt_final_ms"] + p["llm_ttft_ms"]
                    + p["tts_ttfb_ms"])
    plan = plan_turns(turns=1, utterance_ms=p["utterance_ms"], gap_ms=0.0)
    sess = await session(ctx, make_services(ctx), plan,
                         tail_ms=expected_v2v + p["hang_up_after_ms"])
    heard = int((sess.reads[:, 1] > 0).sum()) if sess.reads.size else 0
    ctx.note("ticks_with_bot_audio_before_hang_up", heard)
    if heard == 0:
        ctx.invalid("the bot had not started speaking when the session was closed")
    record_latency(ctx, voice_to_voice(ctx, sess))
    judge_common(ctx, sess)
    judge_stage_errors(ctx, sess)
    ctx.note("close_report", sess.close_report)
