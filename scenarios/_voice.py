"""The voice session driver shared by the ``voice`` scenarios (not public API).

A session builds the target's voice pipeline around seeded service models, feeds it a
simulated user at real-time pace (speech-like audio in the planned turns, silence
between), plays its output on a real-time playout clock, and closes it under a
deadline. The analyses turn what was recorded into the numbers voice builders track:
voice-to-voice latency and its breakdown, barge-in response, glitches at the speaker.

Definitions (docs/pipelines.md, "Reading the voice numbers"):

- *user stop*: the end of the last input frame of a turn that the VAD model calls speech.
- *heard*: the first playout tick after the user stop that plays bot audio.
- *voice-to-voice* = heard - user stop.
- *service delays*: the VAD's (from the user stop to the frame on which it decided, plus
  its processing), the STT final, the LLM's time to first token, the TTS's time to first
  audio, each as the model measured it.
- *hops* = first bot audio written to the playout buffer - user stop - service delays:
  what the pipeline machinery added (queue hand-offs, scheduling).
- *playout wait* = heard - first audio written: the playout buffer and the clock's tick.
- *barge-in response*: from the input frame on which the VAD decided the user started
  speaking over the bot to the first playout tick that plays no bot audio.
- *glitch*: during a reply (from heard until the reply's audio has played), audio missing
  from a tick's read, in ms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mocks._clock import sleep_until
from mocks.faults import FaultWindow
from mocks.services import (
    Delay,
    LlmModel,
    ServiceFault,
    SttModel,
    TtsModel,
    VadModel,
    VoiceServices,
)
from mocks.signals import SignalSource, chunk_bytes
from scenarios.context import ScenarioContext

__all__: list[str] = []

VOICE_PARAMS: dict[str, Any] = {
    "sample_rate": 16000, "chunk_ms": 20.0, "playout_ms": 20.0,
    "vad_hangover_ms": 400.0, "vad_start_ms": 40.0,
    "stt_final_ms": 150.0, "stt_final_p95_ms": 0.0,
    "llm_ttft_ms": 200.0, "llm_ttft_p95_ms": 0.0, "llm_tokens_per_s": 50.0,
    "reply_tokens": 4, "tts_ttfb_ms": 150.0, "tts_ttfb_p95_ms": 0.0, "tts_speed": 4.0,
    "ms_per_token": 240.0, "utterance_ms": 800.0, "close_timeout_s": 1.0,
}
"""Service and session parameters every voice scenario has (p95 0: fixed delays)."""

SPEAKER_DRIFT_PPM = 1000.0
"""How much faster the playout clock runs than the microphone's (a sweep of one 20 ms
tick every 20 s, so barge-in responses sample every phase)."""


def voice_params(**changes: Any) -> dict[str, Any]:
    """:data:`VOICE_PARAMS` with ``changes`` (new keys allowed)."""
    return {**VOICE_PARAMS, **changes}


def _delay(p: dict[str, Any], key: str) -> Delay:
    p95 = float(p[f"{key}_p95_ms"])
    return Delay(float(p[f"{key}_ms"]), p95 if p95 > 0 else None)


def make_services(ctx: ScenarioContext, *, faults: dict[str, Sequence[ServiceFault]] | None
                  = None) -> VoiceServices:
    """The four models from the scenario's parameters, seeded from its seed, reporting
    to its trace."""
    p = dict(ctx.params)
    faults = faults or {}
    emit = ctx.trace.emitter
    rate = int(p["sample_rate"])
    return VoiceServices(
        vad=VadModel(sample_rate=rate, start_ms=p["vad_start_ms"],
                     hangover_ms=p["vad_hangover_ms"], seed=ctx.seed_for("vad"),
                     faults=faults.get("vad", ()), on_event=emit),
        stt=SttModel(sample_rate=rate, final=_delay(p, "stt_final"),
                     seed=ctx.seed_for("stt"), faults=faults.get("stt", ()), on_event=emit),
        llm=LlmModel(ttft=_delay(p, "llm_ttft"), tokens_per_s=p["llm_tokens_per_s"],
                     reply_tokens=p["reply_tokens"], seed=ctx.seed_for("llm"),
                     faults=faults.get("llm", ()), on_event=emit),
        tts=TtsModel(sample_rate=rate, ttfb=_delay(p, "tts_ttfb"), speed=p["tts_speed"],
                     ms_per_token=p["ms_per_token"], chunk_ms=p["chunk_ms"],
                     seed=ctx.seed_for("tts"), faults=faults.get("tts", ()), on_event=emit),
    )


def window(start_s: float, duration_s: float = float("inf")) -> FaultWindow:
    """A fault window in seconds from the session's start."""
    return FaultWindow(start_s * 1000.0, duration_s * 1000.0)


@dataclass
class Turn:
    """One planned user utterance."""

    start_ms: float
    speech_ms: float
    barge_in: bool = False
    """Planned to start while the bot is still speaking."""
    user_stop_ns: int = 0
    onset_ns: int = 0


@dataclass
class Session:
    """What one voice session recorded."""

    t0_ns: int
    turns: list[Turn]
    reads: np.ndarray
    """``(t_ns, nbytes, due_ns)`` per playout tick: when it read, how much, and when it
    was due (the speaker's clock woken late reads after its due time)."""
    frame_bytes_per_ms: float
    close_report: dict[str, Any] | None
    close_ms: float
    stats: dict[str, Any]
    feed_errors: list[str] = field(default_factory=list)
    fed: int = 0
    fed_ns: list[int] = field(default_factory=list)
    """When each input frame was handed to ``feed`` (its due time plus the mic's lateness)."""

    def events(self, ctx: ScenarioContext, name: str) -> list[dict[str, Any]]:
        return [p for n, p, _t in ctx.trace.events if n == name]


def plan_turns(*, turns: int, utterance_ms: float, gap_ms: float, lead_ms: float = 200.0,
               barge_in_after_ms: float | None = None) -> list[Turn]:
    """``turns`` utterances ``gap_ms`` apart (end to start); with ``barge_in_after_ms``,
    every turn after the first starts that long after the previous one's expected first
    bot audio instead (``gap_ms`` is then that expected voice-to-voice time)."""
    plan = []
    start = lead_ms
    for k in range(turns):
        plan.append(Turn(start, utterance_ms, barge_in=barge_in_after_ms is not None and k > 0))
        step = gap_ms if barge_in_after_ms is None else gap_ms + barge_in_after_ms
        start += utterance_ms + step
    return plan


async def _feed(ctx: ScenarioContext, pipeline: Any, services: VoiceServices,
                plan: list[Turn], *, t0_ns: int, total_chunks: int, chunk_ms: float,
                rate: int, session: Session) -> None:
    chunk_ns = round(chunk_ms * 1e6)
    silence = bytes(chunk_bytes(chunk_ms, rate, 1, "pcm_16"))
    spans = [(round(t.start_ms / chunk_ms), round((t.start_ms + t.speech_ms) / chunk_ms))
             for t in plan]
    voices = [SignalSource("speech", sample_rate=rate, channels=1, fmt="pcm_16",
                           chunk_ms=chunk_ms, seed=ctx.seed_for(f"user-{k}"))
              for k in range(len(plan))]
    is_speech = services.vad.is_speech
    for i in range(total_chunks):
        due = t0_ns + (i + 1) * chunk_ns  # a frame is ready once it has been captured
        pcm = silence  # made before its due time: the harness's cost is not the target's
        for k, (first, end) in enumerate(spans):
            if first <= i < end:
                pcm = voices[k].next_chunk()
                if is_speech(pcm):
                    turn = plan[k]
                    turn.user_stop_ns = due
                    if not turn.onset_ns:
                        turn.onset_ns = due
                break
        session.fed_ns.append(await sleep_until(due))
        try:
            await pipeline.feed(pcm)
        except Exception as exc:  # a failed pipeline refuses input: the mic stops
            session.feed_errors.append(f"{type(exc).__name__}: {exc}")
            return
        session.fed += 1


async def _play(pipeline: Any, *, t0_ns: int, playout_ms: float, stop: asyncio.Event,
                reads: list[tuple[int, int, int]], phase_ms: float, drift_ppm: float
                ) -> None:
    # The speaker's clock is not the microphone's: it starts at a seeded phase and runs
    # drift_ppm fast, so over a session its ticks take every phase against the input.
    tick_ns = playout_ms * 1e6 / (1.0 + drift_ppm * 1e-6)
    start_ns = t0_ns + phase_ms * 1e6
    k = 0
    while not stop.is_set():
        k += 1
        due = round(start_ns + k * tick_ns)
        now = await sleep_until(due)
        data = pipeline.read_output(playout_ms)
        reads.append((now, len(data), due))


async def session(ctx: ScenarioContext, services: VoiceServices, plan: list[Turn], *,
                  tail_ms: float,
                  during: Callable[[Any, int], Awaitable[None]] | None = None) -> Session:
    """Run one session: feed ``plan`` then ``tail_ms`` of silence while playing the
    output, run ``during(pipeline, t0_ns)`` alongside when given, then close the pipeline
    under ``close_timeout_s`` and time it."""
    p = ctx.params
    from_target = ctx.target.make_voice_pipeline  # type: ignore[attr-defined]
    config = _config(p)
    pipeline = from_target(services, config, ctx.trace.emitter)
    await pipeline.start()
    t0 = time.perf_counter_ns()
    services.restart_clock(t0)
    end_ms = max(t.start_ms + t.speech_ms for t in plan) + tail_ms
    total = int(end_ms / p["chunk_ms"])
    rate = int(p["sample_rate"])
    sess = Session(t0_ns=t0, turns=plan, reads=np.empty((0, 3), dtype=np.int64),
                   frame_bytes_per_ms=rate * 2 / 1000.0, close_report=None, close_ms=0.0,
                   stats={})
    reads: list[tuple[int, int, int]] = []
    stop = asyncio.Event()
    phase_ms = float(np.random.default_rng(ctx.seed_for("speaker")).uniform(
        0.0, p["playout_ms"]))
    player = ctx.spawn(_play(pipeline, t0_ns=t0, playout_ms=p["playout_ms"], stop=stop,
                             reads=reads, phase_ms=phase_ms, drift_ppm=SPEAKER_DRIFT_PPM),
                       name="playout-clock")
    mic = ctx.spawn(_feed(ctx, pipeline, services, plan, t0_ns=t0, total_chunks=total,
                          chunk_ms=p["chunk_ms"], rate=rate, session=sess), name="microphone")
    side = ctx.spawn(during(pipeline, t0), name="during") if during is not None else None
    await mic
    if side is not None:
        await side
    started = time.perf_counter_ns()
    sess.close_report = await pipeline.close(float(p["close_timeout_s"]))
    sess.close_ms = (time.perf_counter_ns() - started) / 1e6
    stop.set()
    await player
    sess.stats = dict(pipeline.statistics() or {})
    sess.reads = np.array(reads, dtype=np.int64).reshape(-1, 3)
    return sess


@dataclass(frozen=True)
class SessionConfig:
    """What a pipeline target's factory is told about the session (the shape of
    ``harness.pipeline_targets.VoiceConfig``; scenarios do not import the harness)."""

    sample_rate: int
    chunk_ms: float
    playout_ms: float
    close_timeout_s: float


def _config(p: Any) -> SessionConfig:
    return SessionConfig(int(p["sample_rate"]), float(p["chunk_ms"]), float(p["playout_ms"]),
                         float(p["close_timeout_s"]))


# -- analyses ------------------------------------------------------------------------------

def _first_after(payloads: list[dict[str, Any]], t_ns: int, until_ns: int | None = None
                 ) -> dict[str, Any] | None:
    for payload in payloads:
        t = int(payload.get("t_ns", 0))
        if t >= t_ns and (until_ns is None or t < until_ns):
            return payload
    return None


QUIET_LAG_MS = 2.0
"""A turn is *quiet* when the event loop never lagged more than this during one of its
hops (the hand-offs between services): the machine, not the pipeline, sets a hop that
coincides with a longer stall, so the hop checks judge quiet turns only. (A stall while a
service waits is charged to that service's own measured delay, not to a hop.)"""


def _loop_lag(ctx: ScenarioContext, windows: list[tuple[int, int]]) -> float:
    """The worst event-loop lag (ms) the harness's sampler saw overlapping any of
    ``windows`` (a lag sample is a 1 ms sleep's oversleep, taken when the sleep ends: it
    covers ``[t - lag - 1 ms, t]``)."""
    samples = ctx.trace.samples.get("loop_lag_ms")
    if samples is None or samples.size == 0:
        return 0.0
    t = samples["t_ns"].astype(np.float64)
    lag = samples["value"]
    begins = t - (lag + 1.0) * 1e6
    worst = 0.0
    for start, end in windows:
        inside = (t >= start) & (begins <= end)
        if inside.any():
            worst = max(worst, float(lag[inside].max()))
    return worst


def voice_to_voice(ctx: ScenarioContext, sess: Session) -> list[dict[str, float]]:
    """Per answered turn: ``v2v_ms`` and its breakdown (see the module docstring), and
    ``loop_lag_ms``, the worst event-loop lag during the turn's hops."""
    ev = {name: sess.events(ctx, name) for name in (
        "service.vad.stop", "service.stt.final", "service.llm.first_token",
        "service.tts.first_audio", "voice.audio_written", "service.stt.partial")}
    reads = sess.reads
    out = []
    turns = sess.turns
    for k, turn in enumerate(turns):
        if not turn.user_stop_ns:
            continue
        until = turns[k + 1].onset_ns or None if k + 1 < len(turns) else None
        stop = turn.user_stop_ns
        heard_rows = reads[(reads[:, 0] > stop) & (reads[:, 1] > 0)]
        if until is not None:
            heard_rows = heard_rows[heard_rows[:, 0] < until]
        if heard_rows.size == 0:
            continue
        heard = int(heard_rows[0, 0])
        vad = _first_after(ev["service.vad.stop"], stop, heard)
        stt = _first_after(ev["service.stt.final"], stop, heard)
        llm = _first_after(ev["service.llm.first_token"], stop, heard)
        tts = _first_after(ev["service.tts.first_audio"], stop, heard)
        written = _first_after(ev["voice.audio_written"], stop, heard + 1)
        row: dict[str, float] = {"turn": float(k), "user_stop_ns": float(stop),
                                 "heard_ns": float(heard), "v2v_ms": (heard - stop) / 1e6}
        if None not in (vad, stt, llm, tts):
            assert vad is not None and stt is not None and llm is not None and tts is not None
            decided = sess.t0_ns + float(vad["position_ms"]) * 1e6
            row["vad_ms"] = (decided - stop) / 1e6 + float(vad["took_ms"])
            # the STT may still be busy with a partial when the end of speech reaches it
            busy = 0.0
            vad_t = int(vad["t_ns"])
            for partial in ev["service.stt.partial"]:
                end = int(partial["t_ns"])
                begin = end - float(partial["took_ms"]) * 1e6
                if vad_t < end <= int(stt["start_ns"]):
                    busy += (end - max(begin, vad_t)) / 1e6
            row["stt_ms"] = float(stt["took_ms"]) + busy
            row["llm_ttft_ms"] = float(llm["took_ms"])
            row["tts_ttfb_ms"] = float(tts["took_ms"])
            services = row["vad_ms"] + row["stt_ms"] + row["llm_ttft_ms"] + row["tts_ttfb_ms"]
            first_out = int(written["t_ns"]) if written is not None else int(tts["t_ns"])
            row["services_ms"] = services
            row["hops_ms"] = (first_out - stop) / 1e6 - services
            # the same hops edge by edge: from one service's output to the next one's start
            vad_t = int(vad["t_ns"])
            row["hop.mic_vad_ms"] = (vad_t - decided) / 1e6 - float(vad["took_ms"])
            row["hop.vad_stt_ms"] = (int(stt["start_ns"]) - vad_t) / 1e6 - busy
            row["hop.stt_llm_ms"] = (int(llm["start_ns"]) - int(stt["t_ns"])) / 1e6
            row["hop.llm_tts_ms"] = (int(tts["start_ns"]) - int(llm["t_ns"])) / 1e6
            row["hop.tts_speaker_ms"] = (first_out - int(tts["t_ns"])) / 1e6
            row["loop_lag_ms"] = _loop_lag(ctx, [
                (round(decided), vad_t), (vad_t, int(stt["start_ns"])),
                (int(stt["t_ns"]), int(llm["start_ns"])),
                (int(llm["t_ns"]), int(tts["start_ns"])), (int(tts["t_ns"]), first_out)])
            row["playout_wait_ms"] = (heard - first_out) / 1e6
        out.append(row)
    return out


def barge_ins(ctx: ScenarioContext, sess: Session) -> list[dict[str, float]]:
    """Per barge-in turn: ``response_ms`` from the VAD's decision frame to the first
    silent tick, ``bot_audio_after_ms`` played meanwhile, and whether the bot was speaking.

    Where the time went: ``mic_late_ms`` (the decision frame handed to ``feed`` after its
    due time: the harness's microphone woken late), ``cleared_ms`` (from that hand-over to
    the playout buffer cleared, when the target reports ``stream.playback_interrupted``:
    the pipeline's hop to its VAD, the VAD, and the interruption; ``interrupt_ms`` is
    the last part, from the VAD's answer to the buffer cleared), ``speaker_late_ms``
    (the silent tick read after its due time: the harness's playout clock woken late)
    and ``loop_lag_ms`` (the worst event-loop lag from the decision to the silent tick)."""
    starts = sess.events(ctx, "service.vad.start")
    cleared_at = [int(t) for n, _p, t in ctx.trace.events if n == "stream.playback_interrupted"]
    chunk_ns = float(ctx.params["chunk_ms"]) * 1e6
    reads = sess.reads
    out = []
    for turn in sess.turns:
        if not turn.barge_in or not turn.onset_ns:
            continue
        vad = _first_after(starts, turn.onset_ns - round(25e6))
        if vad is None:
            continue
        decided = sess.t0_ns + int(float(vad["position_ms"]) * 1e6)
        before = reads[reads[:, 0] <= decided]
        speaking = bool(before.size and before[-1, 1] > 0)
        after = reads[reads[:, 0] > decided]
        silent = after[after[:, 1] == 0]
        if silent.size == 0:
            continue
        silent_t = int(silent[0, 0])
        played = after[after[:, 0] < silent_t]
        row = {
            "decided_ns": float(decided),
            "silent_ns": float(silent_t),
            "response_ms": (silent_t - decided) / 1e6,
            "from_onset_ms": (silent_t - turn.onset_ns) / 1e6,
            "bot_audio_after_ms": float(played[:, 1].sum()) / sess.frame_bytes_per_ms,
            "bot_was_speaking": float(speaking),
            "loop_lag_ms": _loop_lag(ctx, [(decided, silent_t)]),
            "speaker_late_ms": (silent_t - int(silent[0, 2])) / 1e6,
        }
        frame = round((decided - sess.t0_ns) / chunk_ns) - 1
        if 0 <= frame < len(sess.fed_ns):
            fed = sess.fed_ns[frame]
            row["mic_late_ms"] = (fed - decided) / 1e6
            cleared = next((t for t in cleared_at if t >= fed), None)
            if cleared is not None and cleared <= silent_t:
                row["cleared_ms"] = (cleared - fed) / 1e6
                row["interrupt_ms"] = (cleared - int(vad["t_ns"])) / 1e6
        out.append(row)
    return out


def glitches(sess: Session, rows: list[dict[str, float]], *, reply_ms: float,
             playout_ms: float) -> list[float]:
    """Per answered turn: ms of audio missing from ticks while its reply was playing."""
    reads = sess.reads
    want = playout_ms * sess.frame_bytes_per_ms
    out = []
    for row in rows:
        heard = int(row["heard_ns"])
        after = reads[reads[:, 0] >= heard]
        played = 0.0
        missing = 0.0
        for nbytes in after[:, 1]:
            if played >= reply_ms:
                break
            got_ms = nbytes / sess.frame_bytes_per_ms
            played += got_ms
            if nbytes < want and played < reply_ms:
                missing += playout_ms - got_ms
        out.append(missing)
    return out


def percentiles(values: Sequence[float]) -> dict[str, float] | None:
    """P50/P95/P99/max (nearest rank) of ``values``, ms, rounded; None when empty."""
    if not values:
        return None
    data = np.sort(np.asarray(values, dtype=np.float64))
    n = data.size

    def rank(q: float) -> float:
        return float(data[min(n, max(1, int(np.ceil(q / 100 * n - 1e-9)))) - 1])

    return {"p50": round(rank(50), 3), "p95": round(rank(95), 3), "p99": round(rank(99), 3),
            "max": round(float(data[-1]), 3), "count": n}


def record_latency(ctx: ScenarioContext, rows: list[dict[str, float]]) -> None:
    """Each answered turn as one send (at the user stop) and one receipt (when heard), so
    the run's latency percentiles are voice-to-voice latency."""
    for row in rows:
        seq = int(row["turn"])
        stop, heard = int(row["user_stop_ns"]), int(row["heard_ns"])
        ctx.trace.sent(0, seq, stop, stop, stop, "queued")
        ctx.trace.received(0, 0, seq, heard)


def record_barge_in_latency(ctx: ScenarioContext, rows: list[dict[str, float]]) -> None:
    """Each barge-in as one send (the VAD's decision frame) and one receipt (the first
    silent tick), so the run's latency percentiles are barge-in response times."""
    for seq, row in enumerate(rows):
        decided, silent = int(row["decided_ns"]), int(row["silent_ns"])
        ctx.trace.sent(0, seq, decided, decided, decided, "queued")
        ctx.trace.received(0, 0, seq, silent)


def judge_common(ctx: ScenarioContext, sess: Session) -> None:
    """The checks of every voice session: shutdown within its deadline, nothing
    abandoned, every stage error reported with its stage, every drop reported, edges
    within their bounds."""
    p = ctx.params
    limit_ms = float(p["close_timeout_s"]) * 1000.0 + 50.0
    report = sess.close_report or {}
    abandoned = list(report.get("abandoned", []) or [])
    ctx.expect("shutdown_within_deadline", sess.close_ms <= limit_ms and not abandoned,
               f"close took {sess.close_ms:.1f} ms (deadline {p['close_timeout_s']:g} s + 50 ms "
               f"slack); abandoned stages: {abandoned or 'none'}",
               hypotheses=("H5",), defects=[("Pipeline", "close (under load)", "no_hang")])
    ctx.note("close_ms", round(sess.close_ms, 3))
    stats = sess.stats
    dropped = {k: int(v) for k, v in (stats.get("dropped") or {}).items()}
    events = [pl for n, pl, _t in ctx.trace.events if n == "stream.chunk_dropped"]
    total = sum(dropped.values())
    if "dropped" in stats:
        ctx.expect("drops_reported", len(events) == total,
                   f"{total} items dropped by the edges ({dropped}), "
                   f"{len(events)} stream.chunk_dropped events", hypotheses=("H5",),
                   defects=[("Pipeline", "edges", "no_silent_drop")])
    peaks, bounds = stats.get("peaks") or {}, stats.get("bounds") or {}
    over = {k: (peaks[k], bounds[k]) for k in peaks if k in bounds and peaks[k] > bounds[k]}
    if bounds:
        ctx.expect("edges_bounded", not over,
                   f"edges over their bound (peak, bound): {over or 'none'}",
                   hypotheses=("H1",), defects=[("Pipeline", "edges", "bounds")])
    ctx.note("dropped", dropped)
    ctx.note("peaks", peaks)
    if sess.feed_errors:
        ctx.note("feed_errors", sess.feed_errors[:3])


def judge_stage_errors(ctx: ScenarioContext, sess: Session, *, expected: str | None = None
                       ) -> None:
    """A stage that raised is a finding naming the stage (unless ``expected`` names the
    stage a fault was injected into: then it must have been reported, and nothing else)."""
    errors = list(sess.stats.get("errors") or [])
    named = "; ".join(f"stage {e.get('stage')!r} raised {e.get('error')}" for e in errors)
    if expected is None:
        ctx.expect("no_stage_error", not errors, named or "no stage raised",
                   hypotheses=("H5",))
        return
    stages = {str(e.get("stage")) for e in errors}
    ctx.expect(f"stage_error_reported[{expected}]", stages == {expected},
               named or f"the fault injected into {expected!r} was not reported",
               hypotheses=("H5",))
