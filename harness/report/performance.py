"""The Performance Analysis section: throughput (offered vs delivered, or the ratio to the
in-run ``asyncio.Queue`` reference), latency and service-time percentiles, the voice
numbers, memory and the target's heap trend, service levels, queue depth and buffer level,
and telemetry events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.markdown import (
    _bytes,
    _count,
    _fixed,
    _get,
    _ms,
    _num,
    _percent,
    _rate,
    _ratio,
    _table,
)
from harness.report.scenarios import (
    _BUFFER_NOTE,
    _is_repeated,
    _label,
    _offered,
    _writes_into_buffer,
)

__all__: list[str] = []


def _throughput(scenarios: Sequence[Mapping[str, Any]], reference: float | None,
                repeated: bool) -> list[str]:
    """Open-loop scenarios: offered vs delivered rate. Others: the ratio to the reference."""
    open_loop = [s for s in scenarios if _offered(s) is not None]
    closed_loop = [s for s in scenarios if _offered(s) is None]
    lines = ["### Throughput", ""]
    if reference is not None:
        use = ("the last table divides by it." if closed_loop else
               "every scenario here offers load at a set rate, so none is divided by it.")
        lines += [f"Reference: a bare `asyncio.Queue` moved {_rate(reference)} items/s in the "
                  f"same run on the same machine; {use}", ""]
    if open_loop:
        lines += [
            "Open loop: the producers send at a set rate, so the delivered rate follows the "
            "offered rate, not the target's capacity (`stageflow-stress bench` measures that). "
            "Offered: chunks scheduled per second. Delivered: chunks received (for a buffer: "
            "writes it accepted) per second, from the first scheduled send to the last receipt.",
            "",
        ]
        rows = []
        for s in open_loop:
            delivered = _num(_get(s, "metrics", "throughput_cps"))
            rows.append((_label(s, repeated), _rate(_offered(s)), _rate(delivered),
                         _percent(delivered, _offered(s))))
        lines += [*_table(("Scenario", "Offered chunks/s", "Delivered chunks/s",
                           "Delivered / offered"), rows, "lrrr"), ""]
    if closed_loop:
        if open_loop:
            lines += ["Closed loop (no offered rate): as fast as the target moves chunks.", ""]
        rows = [(_label(s, repeated), _rate(_get(s, "metrics", "throughput_cps")),
                 _ratio(_num(_get(s, "metrics", "throughput_cps")) / reference)
                 if reference and _num(_get(s, "metrics", "throughput_cps")) is not None
                 else None)
                for s in closed_loop]
        lines += [*_table(("Scenario", "Chunks/s", "Ratio to asyncio.Queue"), rows, "lrr"), ""]
    return lines


def _performance(results: Mapping[str, Any]) -> list[str]:
    scenarios = results["scenarios"]
    repeated = _is_repeated(scenarios)
    reference = _num(_get(results, "reference", "asyncio_queue_items_per_s"))
    lines = ["## Performance Analysis", "", *_throughput(scenarios, reference, repeated)]

    lines += _percentiles(scenarios, repeated)
    lines += _voice(scenarios, repeated)
    lines += _memory(scenarios, repeated)
    lines += _heap_trend(scenarios, repeated)
    lines += _service_levels(scenarios, repeated)
    lines += _levels(scenarios, repeated)
    lines += _events(scenarios, repeated)
    return lines


def _no_latency(scenarios: Sequence[Mapping[str, Any]], repeated: bool) -> list[str]:
    """Why some scenarios have no latency: one line per reason, naming them."""
    silent = [s for s in scenarios if not _get(s, "metrics", "latency_ms", "count")
              and s["status"] != "skipped"]
    into_buffer = [_label(s, repeated) for s in silent if _writes_into_buffer(s)]
    undelivered = [_label(s, repeated) for s in silent if not _writes_into_buffer(s)]
    lines = []
    if into_buffer:
        lines.append(f"No latency for {', '.join(into_buffer)}: {_BUFFER_NOTE}.")
    if undelivered:
        lines.append(f"No latency for {', '.join(undelivered)}: no chunk was delivered.")
    return lines


def _no_service(scenarios: Sequence[Mapping[str, Any]], repeated: bool) -> list[str]:
    names = [_label(s, repeated) for s in scenarios
             if isinstance(_get(s, "metrics", "service_ms"), Mapping)
             and not _get(s, "metrics", "service_ms", "count") and s["status"] != "skipped"]
    return [f"No service time for {', '.join(names)}: no put completed."] if names else []


def _percentiles(scenarios: Sequence[Mapping[str, Any]], repeated: bool) -> list[str]:
    lines: list[str] = []
    for key, title, note, missing in (
        ("latency_ms", "Latency",
         "From each chunk's intended send time to its receipt (coordinated omission "
         "corrected), in milliseconds.", _no_latency(scenarios, repeated)),
        ("service_ms", "Service time",
         "How long each put (for a buffer: each write) took, from its start to its return, "
         "whatever its outcome (a put that timed out after 10 ms took 10 ms), in milliseconds.",
         _no_service(scenarios, repeated)),
    ):
        rows = []
        for s in scenarios:
            stats = _get(s, "metrics", key)
            if isinstance(stats, Mapping) and stats.get("count"):
                rows.append((_label(s, repeated), _count(stats.get("count")),
                             *(_ms(stats.get(p)) for p in ("p50", "p95", "p99", "p999", "max",
                                                          "mean"))))
        if not rows and not missing:
            continue
        lines += [f"### {title}", "", note, ""]
        if rows:
            lines += [*_table(("Scenario", "Samples", "P50", "P95", "P99", "P99.9", "Max",
                               "Mean"), rows, "lrrrrrrr"), ""]
        for line in missing:
            lines += [line, ""]
    return lines


_VOICE_MEASURES = (
    ("v2v_ms", "voice-to-voice"), ("services_ms", "services' own delays"),
    ("vad_ms", "VAD end of speech"), ("stt_ms", "STT final"), ("llm_ttft_ms", "LLM first token"),
    ("tts_ttfb_ms", "TTS first audio"), ("hops_ms", "pipeline hops"),
    ("hops_ms_quiet", "pipeline hops, turns without a loop stall"),
    ("playout_wait_ms", "playout wait"), ("response_ms", "barge-in response"),
    ("response_ms_quiet", "barge-in response, without a loop stall"),
    ("interrupt_ms", "barge-in: VAD's answer to speaker cleared"),
    ("cleared_ms", "barge-in: decision frame fed to speaker cleared"),
    ("mic_late_ms", "barge-in: harness's microphone late"),
    ("speaker_late_ms", "barge-in: harness's speaker clock late"),
    ("bot_audio_after_ms", "bot audio after a barge-in"),
    ("glitch_ms_per_turn", "glitches per reply"),
)


def _voice(scenarios: Sequence[Mapping[str, Any]], repeated: bool) -> list[str]:
    """The voice numbers (docs/pipelines.md, "Reading the voice numbers") of the scenarios
    that measured them."""
    rows = []
    for s in scenarios:
        notes = _get(s, "metrics", "notes")
        if not isinstance(notes, Mapping):
            continue
        for key, label in _VOICE_MEASURES:
            stats = notes.get(key)
            if isinstance(stats, Mapping) and stats.get("count"):
                rows.append((_label(s, repeated), label, _count(stats.get("count")),
                             *(_ms(stats.get(p)) for p in ("p50", "p95", "p99", "max"))))
    if not rows:
        return []
    return ["### Voice", "",
            "Per turn of the voice scenarios, in milliseconds: voice-to-voice is the user's "
            "stop to the first bot audio heard; it splits into the services' own delays, the "
            "pipeline's hops and the playout wait; barge-in response is the VAD hearing the "
            "user over the bot to the speaker's first silent tick (docs/pipelines.md).", "",
            *_table(("Scenario", "Measure", "Samples", "P50", "P95", "P99", "Max"), rows,
                    "llrrrrr"), ""]


def _memory(scenarios: Sequence[Mapping[str, Any]], repeated: bool) -> list[str]:
    rows = [(_label(s, repeated), _bytes(_get(s, "metrics", "memory", "peak_bytes")),
             _bytes(_get(s, "metrics", "memory", "growth_bytes")),
             _bytes(_get(s, "metrics", "memory", "growth_bytes_per_s"), "/s"))
            for s in scenarios if isinstance(_get(s, "metrics", "memory"), Mapping)]
    if not rows:
        return []
    return ["### Memory", "",
            "Resident memory (RSS) of the whole harness process, target included, sampled "
            "while the scenario ran. Growth: peak minus the first sample. Trend: least-squares "
            "slope over the scenario.", "",
            *_table(("Scenario", "Peak RSS", "Growth", "Trend"), rows, "lrrr"), ""]


def _heap_trend(scenarios: Sequence[Mapping[str, Any]], repeated: bool) -> list[str]:
    """The target's own heap where it was watched (a soak, ``ctx.expect_flat_memory``):
    the leak verdict and its trend, without the harness's records that RSS includes."""
    rows = []
    for s in scenarios:
        soak = s.get("soak")
        if not isinstance(soak, Mapping):
            continue
        trend = _get(soak, "trend", "target") or {}
        ci = trend.get("ci95") or (None, None)
        rows.append((_label(s, repeated), str(soak.get("verdict", "—")),
                     _bytes(trend.get("bytes_per_min"), "/min"),
                     f"{_bytes(ci[0])} .. {_bytes(ci[1])}",
                     _bytes(soak.get("tolerance_bytes_per_min"), "/min"),
                     _count(soak.get("samples"))))
    if not rows:
        return []
    return ["### Memory trend of the target", "",
            "The target's own Python heap (`tracemalloc`, the harness's packages excluded), "
            "its least-squares trend per minute with the 95 % interval, judged flat, leak or "
            "inconclusive against the tolerance (docs/sweeps.md).", "",
            *_table(("Scenario", "Verdict", "Trend", "95 % interval", "Tolerance",
                     "Samples"), rows, "llrrrr"), ""]


def _service_levels(scenarios: Sequence[Mapping[str, Any]], repeated: bool) -> list[str]:
    rows = []
    for s in scenarios:
        slo = _get(s, "metrics", "slo")
        if isinstance(slo, Mapping):
            drop_ratio = _num(slo.get("drop_ratio"))
            rows.append((_label(s, repeated), _count(slo.get("underruns")),
                         _ms(slo.get("underrun_ms")), _ms(slo.get("recovery_ms")),
                         _percent(drop_ratio, 1.0) if drop_ratio is not None else None,
                         _ms(slo.get("loop_lag_ms_p99")), _ms(slo.get("loop_lag_ms_max"))))
    if not rows:
        return []
    return ["### Service levels", "",
            "Underruns: episodes of short reads by the real-time playout clock; underrun ms: "
            "the audio missing from them (silence heard); longest recovery: from an underrun's "
            "first short read to the next full read (— when no underrun ended). Dropped: "
            "chunks dropped with a `stream.chunk_dropped` event, as a share of chunks sent. "
            "Loop lag: how late the harness's sampling timer woke up on the event loop.", "",
            *_table(("Scenario", "Underruns", "Underrun ms", "Longest recovery ms", "Dropped",
                     "Loop lag P99 ms", "Loop lag max ms"), rows, "lrrrrrr"), ""]


_LEVELS = {"queue_depth.": ("queue", "chunks", 0), "buffer_ms.": ("buffer", "ms of audio", 1)}
"""Series prefix -> what is sampled, its unit, and the decimals its values are shown with."""


def _levels(scenarios: Sequence[Mapping[str, Any]], repeated: bool) -> list[str]:
    """Queue depth and buffer level over each scenario, from the sampled series."""
    rows = []
    for s in scenarios:
        series = _get(s, "metrics", "series")
        if not isinstance(series, Mapping):
            continue
        for name in sorted(series):
            prefix = next((p for p in _LEVELS if str(name).startswith(p)), None)
            stats = series[name]
            if prefix is None or not isinstance(stats, Mapping) or not stats.get("count"):
                continue
            kind, unit, digits = _LEVELS[prefix]
            rows.append((_label(s, repeated), f"{kind} `{str(name)[len(prefix):]}`", unit,
                         *(_fixed(stats.get(k), 1 if k == "mean" else digits)
                           for k in ("min", "mean", "p99", "max", "last"))))
    if not rows:
        return []
    return ["### Queue depth and buffer level", "",
            "Sampled on the event loop while the scenario ran: chunks waiting in each queue, "
            "milliseconds of audio held by each buffer.", "",
            *_table(("Scenario", "Of", "Unit", "Min", "Mean", "P99", "Max", "Last"), rows,
                    "lllrrrrr"), ""]


def _events(scenarios: Sequence[Mapping[str, Any]], repeated: bool) -> list[str]:
    rows = []
    for s in scenarios:
        events = _get(s, "metrics", "events")
        if isinstance(events, Mapping):
            rows.append((_label(s, repeated), ", ".join(
                f"`{name}` {_count(events[name])}" for name in sorted(events)) or "none"))
    if not rows:
        return []
    return ["### Telemetry events", "",
            "Events the target emitted during each scenario, with their counts.", "",
            *_table(("Scenario", "Events"), rows), ""]
