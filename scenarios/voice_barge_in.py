"""voice_barge_in: the user speaks over the bot; how fast the speaker goes silent."""

from __future__ import annotations

from scenarios._voice import (
    QUIET_LAG_MS,
    barge_ins,
    judge_common,
    judge_stage_errors,
    make_services,
    percentiles,
    plan_turns,
    record_barge_in_latency,
    session,
    voice_params,
)
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["voice_barge_in"]

_QUICK = voice_params(turns=4, utterance_ms=400.0, stt_final_ms=40.0, llm_ttft_ms=60.0,
                      tts_ttfb_ms=40.0, reply_tokens=12, barge_in_after_ms=300.0,
                      response_limit_ms=40.0, deadline_s=20.0)
_FULL = voice_params(turns=40, utterance_ms=400.0, reply_tokens=12, barge_in_after_ms=400.0,
                     response_limit_ms=40.0, deadline_s=150.0)


@scenario(
    name="voice_barge_in",
    category="performance",
    hypotheses=("H7", "H8"),
    quick=_QUICK,
    full=_FULL,
    requires=("pipeline",),
    suites=("voice",),
    positive=("turns", "utterance_ms", "reply_tokens", "barge_in_after_ms"),
)
async def voice_barge_in(ctx: ScenarioContext) -> None:
    """Every turn after the first starts while the bot is still speaking: the speaker must
    go silent within a playout chunk of the VAD's decision (barge-in response P50/P95/P99),
    with the interrupted reply's queued work flushed. Noted apart: the barge-ins on a
    quiet loop (no stall over ``QUIET_LAG_MS`` from the decision to the silent tick) and
    the pipeline's own share (decision frame fed -> playout buffer cleared)."""
    p = ctx.params
    expected_v2v = (p["vad_hangover_ms"] + p["stt_final_ms"] + p["llm_ttft_ms"]
                    + p["tts_ttfb_ms"])
    reply_ms = p["reply_tokens"] * p["ms_per_token"]
    plan = plan_turns(turns=p["turns"], utterance_ms=p["utterance_ms"], gap_ms=expected_v2v,
                      barge_in_after_ms=p["barge_in_after_ms"])
    sess = await session(ctx, make_services(ctx), plan, tail_ms=expected_v2v + reply_ms)
    rows = barge_ins(ctx, sess)
    judge_common(ctx, sess)
    judge_stage_errors(ctx, sess)
    spoken_over = [r for r in rows if r["bot_was_speaking"]]
    record_barge_in_latency(ctx, spoken_over)
    ctx.note("barge_ins_planned", sum(1 for t in plan if t.barge_in))
    ctx.note("barge_ins_over_speech", len(spoken_over))
    ctx.note("response_ms", percentiles([r["response_ms"] for r in spoken_over]))
    ctx.note("from_onset_ms", percentiles([r["from_onset_ms"] for r in spoken_over]))
    ctx.note("bot_audio_after_ms", percentiles([r["bot_audio_after_ms"] for r in spoken_over]))
    # where the time went: the machine (mic woken late, loop stalls) or the pipeline
    quiet = [r for r in spoken_over if r["loop_lag_ms"] <= QUIET_LAG_MS]
    ctx.note("response_ms_quiet", percentiles([r["response_ms"] for r in quiet]))
    ctx.note("mic_late_ms", percentiles([r["mic_late_ms"] for r in spoken_over
                                         if "mic_late_ms" in r]))
    ctx.note("cleared_ms", percentiles([r["cleared_ms"] for r in spoken_over
                                        if "cleared_ms" in r]))
    ctx.note("cleared_ms_quiet", percentiles([r["cleared_ms"] for r in quiet
                                              if "cleared_ms" in r]))
    ctx.note("interrupt_ms", percentiles([r["interrupt_ms"] for r in spoken_over
                                          if "interrupt_ms" in r]))
    ctx.note("speaker_late_ms", percentiles([r["speaker_late_ms"] for r in spoken_over]))
    ctx.note("loop_lag_ms", percentiles([r["loop_lag_ms"] for r in spoken_over]))
    if not spoken_over:
        ctx.invalid("no barge-in happened while the bot was speaking (timing plan missed)")
        return
    worst = max(r["response_ms"] for r in spoken_over)
    ctx.expect("speaker_silenced", worst <= p["response_limit_ms"],
               f"speaker silent {worst:.1f} ms after the VAD heard the user at worst over "
               f"{len(spoken_over)} barge-ins (limit {p['response_limit_ms']:g} ms)",
               hypotheses=("H7", "H8"),
               defects=[("Pipeline", "interrupt (bot speaking)", "silenced")])
