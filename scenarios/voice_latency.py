"""voice_latency: voice-to-voice latency with its per-stage breakdown, and glitches."""

from __future__ import annotations

from scenarios._voice import (
    QUIET_LAG_MS,
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
)
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["voice_latency"]

_QUICK = voice_params(turns=2, utterance_ms=600.0, stt_final_ms=60.0, llm_ttft_ms=80.0,
                      tts_ttfb_ms=60.0, reply_tokens=2, hops_limit_ms=5.0, deadline_s=15.0)
_FULL = voice_params(turns=30, hops_limit_ms=5.0, deadline_s=150.0)


@scenario(
    name="voice_latency",
    category="performance",
    hypotheses=("H7", "H2"),
    quick=_QUICK,
    full=_FULL,
    requires=("pipeline",),
    suites=("voice",),
    positive=("turns", "utterance_ms", "chunk_ms", "playout_ms", "reply_tokens"),
)
async def voice_latency(ctx: ScenarioContext) -> None:
    """A user takes turns with the bot (fixed service delays by default): voice-to-voice
    latency P50/P95/P99 split into the services' own delays, the pipeline's hops and the
    playout wait; glitches (audio missing at the speaker during a reply)."""
    p = ctx.params
    expected_v2v = (p["vad_hangover_ms"] + p["stt_final_ms"] + p["llm_ttft_ms"]
                    + p["tts_ttfb_ms"])
    reply_ms = p["reply_tokens"] * p["ms_per_token"]
    plan = plan_turns(turns=p["turns"], utterance_ms=p["utterance_ms"],
                      gap_ms=1.5 * expected_v2v + reply_ms + 300.0)
    sess = await session(ctx, make_services(ctx), plan, tail_ms=1.5 * expected_v2v + reply_ms)
    rows = voice_to_voice(ctx, sess)
    record_latency(ctx, rows)
    judge_common(ctx, sess)
    judge_stage_errors(ctx, sess)
    ctx.expect("every_turn_answered", len(rows) == len(plan),
               f"{len(rows)} of {len(plan)} turns answered with audio", hypotheses=("H7",))
    for key in ("v2v_ms", "services_ms", "vad_ms", "stt_ms", "llm_ttft_ms", "tts_ttfb_ms",
                "hops_ms", "playout_wait_ms"):
        ctx.note(key, percentiles([r[key] for r in rows if key in r]))
    edges = sorted({k for r in rows for k in r if k.startswith("hop.")})
    ctx.note("hops_by_edge", {k[4:-3]: percentiles([r[k] for r in rows if k in r])
                              for k in edges})
    quiet = [r for r in rows if "hops_ms" in r and r["loop_lag_ms"] <= QUIET_LAG_MS]
    ctx.note("quiet_turns", len(quiet))
    ctx.note("hops_ms_quiet", percentiles([r["hops_ms"] for r in quiet]))
    ctx.note("loop_lag_ms_in_turns", percentiles([r["loop_lag_ms"] for r in rows
                                                  if "loop_lag_ms" in r]))
    hops = percentiles([r["hops_ms"] for r in quiet])
    if hops is not None:
        ctx.expect("pipeline_hops_bounded", hops["p99"] <= p["hops_limit_ms"],
                   f"on {len(quiet)} turns without an event-loop stall over "
                   f"{QUIET_LAG_MS:g} ms, the pipeline machinery added P99 {hops['p99']} ms "
                   f"beyond the services' own delays (limit {p['hops_limit_ms']:g} ms)",
                   hypotheses=("H7",), defects=[("Pipeline", "hops", "overhead")])
    elif rows:
        ctx.note("hops_not_judged", "the event loop stalled during every turn (the machine "
                                    "was busy): no quiet turn to judge the pipeline by")
    lost = glitches(sess, rows, reply_ms=reply_ms, playout_ms=p["playout_ms"])
    ctx.note("glitch_ms_per_turn", percentiles(lost))
    ctx.slo(underrun_ms=round(sum(lost), 3), underruns=sum(1 for x in lost if x > 0))
