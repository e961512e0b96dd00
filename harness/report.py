"""The final report in the TRANSFORM-007 structure, regenerated from results and ledgers only.

:func:`build_report` is a pure function of its inputs: no clock, no environment, sorted
iteration, fixed number formats. The same results document, ledgers and source list give a
byte-identical Markdown text. Sections: run header, Executive Summary, Hypotheses, Test
Results, Performance Analysis, Side-by-side comparison (when the results carry
``compare``), Findings, Developer Experience, Recommendations, Conclusion, Appendix.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.findings import missing_capabilities
from harness.ledgers import KINDS, LEDGER_FILES, PRIORITIES, SEVERITIES

__all__ = ["SECTION_KEYS", "Comparison", "SourceFile", "build_report", "report_header",
           "report_sections", "verdict"]

_KIND_TITLES = {
    "bug": "Bugs",
    "dx": "DX issues",
    "improvement": "Improvements",
    "strength": "Strengths",
}
_FAILED = ("fail", "error", "timeout")
_STATUS_ORDER = ("pass", "fail", "timeout", "error", "invalid", "skipped")
_HYPOTHESIS_STATUSES = ("supported", "refuted", "inconclusive", "untested")


def _hypothesis_texts() -> Mapping[str, str]:
    # Imported when a report is built, not when the CLI starts: ``scenarios`` registers
    # every built-in scenario on import.
    from scenarios.registry import HYPOTHESES

    return HYPOTHESES


@dataclass(frozen=True)
class SourceFile:
    """A file the report was built from: the path as shown and its content."""

    path: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Comparison:
    """A compare document (a results document with a ``compare`` section, as
    ``stageflow-stress compare`` writes it) and the path it is shown under."""

    results: Mapping[str, Any]
    path: str


# --- formatting -----------------------------------------------------------------------------


def _cell(value: Any) -> str:
    text = "—" if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    """``"1 run"``, ``"2 runs"``: the count and the word that agrees with it."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _ms(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:.3f}"


def _count(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:,.0f}"


def _rate(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:,.0f}"


def _ratio(value: Any, digits: int = 4) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:.{digits}f}"


def _bytes(value: Any, unit: str = "") -> str:
    """Bytes in MiB (one decimal) from 1 MiB up, in KiB below, in bytes below 1 KiB."""
    number = _num(value)
    if number is None:
        return "—"
    if abs(number) >= 1048576:
        return f"{number / 1048576:,.1f} MiB{unit}"
    if abs(number) >= 1024:
        return f"{number / 1024:,.0f} KiB{unit}"
    return f"{number:,.0f} B{unit}"


def _duration(value: Any) -> str:
    number = _num(value)
    if number is None:
        return "—"
    return f"{number / 1000:.2f} s" if number >= 1000 else f"{number:.1f} ms"


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> list[str]:
    align = align or "l" * len(header)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(marks[a] for a in align) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _target_text(target: Any) -> str:
    if not isinstance(target, Mapping):
        return "—"
    version = target.get("version")
    return f"{target.get('name')} {version}" if version else str(target.get("name"))


def _fence(text: str) -> list[str]:
    stripped = text.strip("\n")
    if stripped.startswith(("stageflow-stress", "python -c", "python -m", "$ ")):
        lang = "shell"
    elif "import " in stripped or "await " in stripped:
        lang = "python"
    else:
        lang = "text"
    ticks = "```"
    while ticks in stripped:
        ticks += "`"
    return [f"{ticks}{lang}", stripped, ticks]


def _id_key(entry: Mapping[str, Any]) -> tuple[int, str]:
    match = re.search(r"(\d+)$", str(entry.get("id", "")))
    return (int(match.group(1)) if match else 0, str(entry.get("id", "")))


# --- results helpers ------------------------------------------------------------------------


def _label(scenario: Mapping[str, Any], repeated: bool) -> str:
    if repeated:
        return f"{scenario['name']} #{scenario.get('repeat_index', 0)}"
    return str(scenario["name"])


def _is_repeated(scenarios: Sequence[Mapping[str, Any]]) -> bool:
    names = [s["name"] for s in scenarios]
    return len(names) != len(set(names))


def _failed_invariants(scenario: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [i for i in scenario.get("invariants") or []
            if isinstance(i, Mapping) and not i.get("passed", True)]


def verdict(results: Mapping[str, Any]) -> tuple[str, str]:
    """``(PASS|FAIL|INVALID, one sentence)`` for a results document."""
    scenarios = results["scenarios"]
    target = _target_text(results.get("target"))
    skipped = [s for s in scenarios if s["status"] == "skipped"]
    invalid = [s for s in scenarios if s["status"] == "invalid"]
    failed = [s for s in scenarios if s["status"] in _FAILED]
    ran = len(scenarios) - len(skipped)
    skip_text = ""
    if skipped:
        lacks = sorted({c for s in skipped for c in missing_capabilities(dict(s))})
        skip_text = (f" {_plural(len(skipped), 'scenario run')} "
                     f"{'was' if len(skipped) == 1 else 'were'} skipped: the target lacks "
                     f"{', '.join(lacks)}.")
    if invalid:
        names = ", ".join(sorted({s["name"] for s in invalid}))
        return "INVALID", (
            f"{len(invalid)} of {_plural(ran, 'scenario run')} "
            f"{'was' if len(invalid) == 1 else 'were'} invalid ({names}): the load "
            f"generator saturated, so their numbers do not measure {target}.{skip_text}"
        )
    if failed:
        parts = []
        for s in failed:
            broken = ", ".join(str(i.get("name")) for i in _failed_invariants(s))
            parts.append(f"{s['name']} ({s['status']}" + (f": {broken})" if broken else ")"))
        return "FAIL", (
            f"{len(failed)} of {_plural(ran, 'scenario run')} did not pass against {target}: "
            + "; ".join(parts) + "." + skip_text
        )
    if not ran:
        return "INVALID", "The results hold no scenario that ran." + skip_text
    runs = "The one scenario run" if ran == 1 else f"All {ran} scenario runs"
    return "PASS", f"{runs} passed against {target}.{skip_text}"


def _max_by(scenarios: Sequence[Mapping[str, Any]], *path: str) -> tuple[float, str] | None:
    best: tuple[float, str] | None = None
    for scenario in scenarios:
        value = _num(_get(scenario, "metrics", *path))
        if path[0] in ("latency_ms", "service_ms") and not _get(
            scenario, "metrics", path[0], "count"
        ):
            continue
        if value is not None and (best is None or value > best[0]):
            best = (value, str(scenario["name"]))
    return best


def _peak_rate(scenarios: Sequence[Mapping[str, Any]]) -> str | None:
    """The highest delivered rate, its scenario and the rate that scenario was offered."""
    best: tuple[float, Mapping[str, Any]] | None = None
    for scenario in scenarios:
        value = _num(_get(scenario, "metrics", "throughput_cps"))
        if value is not None and (best is None or value > best[0]):
            best = (value, scenario)
    if best is None:
        return None
    offered = _offered(best[1])
    context = "" if offered is None else f", offered {_rate(offered)} chunks/s"
    return f"{_rate(best[0])} chunks/s ({best[1]['name']}{context})"


_BUFFER_NOTE = ("chunks are written into a buffer and leave it as bytes, so no chunk has a "
                "receipt time to measure: see Service levels and Queue depth and buffer level")


def _writes_into_buffer(scenario: Mapping[str, Any] | None) -> bool:
    """True when the scenario delivered writes into a buffer: accepted, but never received
    as chunks, so they have no latency."""
    if not isinstance(scenario, Mapping):
        return False
    delivered = _num(_get(scenario, "metrics", "delivered"))
    return bool(delivered) and not _get(scenario, "metrics", "latency_ms", "count")


def _total(scenarios: Sequence[Mapping[str, Any]], key: str) -> float | None:
    values = [_num(_get(s, "metrics", key)) for s in scenarios]
    present = [v for v in values if v is not None]
    return sum(present) if present else None


# --- sections -------------------------------------------------------------------------------


def _header(results: Mapping[str, Any]) -> list[str]:
    target = results.get("target") or {}
    env = results.get("environment") or {}
    suite = results.get("suite") or "custom"
    title = f"# Stress Test Report: {target.get('name')} {target.get('version')} — {suite} suite"
    environment = ", ".join(
        part for part in (
            f"Python {env['python']}" if env.get("python") else "",
            str(env.get("platform") or ""),
            f"{env['cpu_count']} CPUs" if env.get("cpu_count") else "",
        ) if part
    )
    rows = [
        ("Run ID", f"`{results['run_id']}`"),
        ("Target", target.get("name")),
        ("Version", target.get("version")),
        ("Date", results.get("created_at")),
        ("Suite", f"{suite} ({'quick' if results.get('quick') else 'full'})"),
        ("Seed", results.get("seed")),
        ("Repeats", results.get("repeat", 1)),
        ("Command", f"`{results['command']}`" if results.get("command") else None),
        ("Environment", environment or None),
        ("Git commit", f"`{env['git_commit']}`" if env.get("git_commit") else None),
    ]
    return [title, "", *_table(("Field", "Value"), rows), ""]


def _findings_counts(ledgers: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    rows = []
    for kind in KINDS:
        by_target: dict[str, Counter[str]] = {}
        for entry in ledgers.get(kind, ()):
            counter = by_target.setdefault(_target_text(entry.get("target")), Counter())
            counter[str(entry.get("status"))] += 1
        for target in sorted(by_target):
            c = by_target[target]
            rows.append((_KIND_TITLES[kind], target, c["open"], c["fixed"], c["wontfix"],
                         c["withdrawn"], c["merged"], sum(c.values())))
    if not rows:
        return ["The ledgers hold no findings.", ""]
    header = ("Type", "Target", "Open", "Fixed", "Won't fix", "Withdrawn", "Merged", "Total")
    if not any(row[5] or row[6] for row in rows):  # the columns only when they say something
        rows = [(*row[:5], row[7]) for row in rows]
        header = (*header[:5], header[7])
    return [*_table(header, rows, "ll" + "r" * (len(header) - 2)), ""]


def _key_metrics(results: Mapping[str, Any]) -> list[str]:
    scenarios = results["scenarios"]
    statuses = Counter(s["status"] for s in scenarios)
    status_text = ", ".join(f"{statuses[s]} {s}" for s in _STATUS_ORDER if statuses[s])
    rows: list[tuple[str, str]] = [
        ("Scenario runs", f"{len(scenarios)} ({status_text or 'none'})"),
    ]
    for key, label in (("sent", "Chunks sent"), ("delivered", "Chunks delivered"),
                       ("dropped", "Chunks dropped (with event)"),
                       ("refused", "Chunks refused (the put raised)"),
                       ("stranded", "Chunks stranded (in a queue at the deadline)"),
                       ("lost", "Chunks lost"),
                       ("duplicated", "Chunks duplicated")):
        total = _total(scenarios, key)
        if total is not None:
            rows.append((label, _count(total)))
    peak = _peak_rate(scenarios)
    if peak:
        rows.append(("Highest delivered rate", peak))
    for stat, label in (("p50", "P50"), ("p95", "P95"), ("p99", "P99"), ("p999", "P99.9")):
        worst = _max_by(scenarios, "latency_ms", stat)
        if worst:
            rows.append((f"Worst {label} latency", f"{_ms(worst[0])} ms ({worst[1]})"))
    memory = _max_by(scenarios, "memory", "peak_bytes")
    if memory:
        rows.append(("Peak RSS (harness process)", f"{_bytes(memory[0])} ({memory[1]})"))
    reference = _num(_get(results, "reference", "asyncio_queue_items_per_s"))
    if reference is not None:
        rows.append(("Reference asyncio.Queue", f"{_rate(reference)} items/s (same run)"))
    hypotheses = Counter(
        str(_get(results, "hypotheses", h, "status") or "untested") for h in _hypothesis_texts()
    )
    rows.append(("Hypotheses", ", ".join(
        f"{hypotheses[s]} {s}" for s in _HYPOTHESIS_STATUSES if hypotheses[s]
    )))
    return [*_table(("Metric", "Value"), rows), ""]


def _executive_summary(
    results: Mapping[str, Any], ledgers: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[str]:
    word, sentence = verdict(results)
    return [
        "## Executive Summary",
        "",
        f"**Verdict: {word}.** {sentence}",
        "",
        "### Findings in the ledgers",
        "",
        *_findings_counts(ledgers),
        "### Key metrics",
        "",
        *_key_metrics(results),
    ]


def _hypotheses(results: Mapping[str, Any]) -> list[str]:
    recorded = results.get("hypotheses") or {}
    texts = _hypothesis_texts()
    names = list(texts) + sorted(h for h in recorded if h not in texts)
    rows = []
    for name in names:
        entry = recorded.get(name) if isinstance(recorded, Mapping) else None
        entry = entry if isinstance(entry, Mapping) else {}
        rows.append((name, texts.get(name, "—"), entry.get("status", "untested"),
                     entry.get("evidence")))
    return ["## Hypotheses", "",
            *_table(("#", "Hypothesis", "Status", "Evidence"), rows), ""]


def _test_results(results: Mapping[str, Any]) -> list[str]:
    scenarios = results["scenarios"]
    repeated = _is_repeated(scenarios)
    rows = []
    for s in scenarios:
        m = s.get("metrics") or {}
        rows.append((
            _label(s, repeated), s.get("category"), ", ".join(s.get("hypotheses") or []) or None,
            s["status"].upper(),
            _duration(s.get("duration_ms")), _count(m.get("sent")),
            _count(m.get("delivered")), _count(m.get("dropped")), _count(m.get("refused")),
            _count(m.get("stranded")), _count(m.get("lost")),
            _rate(m.get("throughput_cps")),
            _ms(_get(m, "latency_ms", "p99")) if _get(m, "latency_ms", "count") else "—",
        ))
    lines = ["## Test Results", ""]
    if not rows:
        return [*lines, "No scenario ran.", ""]
    lines += _table(
        ("Scenario", "Category", "Hypotheses", "Status", "Duration", "Sent", "Delivered",
         "Dropped", "Refused", "Stranded", "Lost", "Delivered chunks/s", "P99 latency ms"),
        rows, "lllllrrrrrrrr",
    )
    lines += ["", "Dropped: with a `stream.chunk_dropped` event. Refused: the put raised to the "
              "producer (timeout, rejected, closed, error) or was cancelled at the deadline. "
              "Stranded: still in a queue when the scenario was cut at its deadline. Lost: "
              "vanished with none of these.", ""]
    into_buffer = [_label(s, repeated) for s in scenarios if _writes_into_buffer(s)]
    if into_buffer:
        lines += [f"{', '.join(into_buffer)} write chunks into a buffer: Delivered counts the "
                  "writes it accepted, and they have no per-chunk latency (see Performance "
                  "Analysis).", ""]
    undelivered = [_label(s, repeated) for s in scenarios if s["status"] != "skipped"
                   and not _get(s, "metrics", "latency_ms", "count")
                   and not _writes_into_buffer(s)]
    if undelivered:
        lines += [f"{', '.join(undelivered)}: no chunk was delivered, so no latency.", ""]
    problems = [s for s in scenarios if s["status"] != "pass"]
    if problems:
        lines += ["### What did not pass", ""]
        for s in problems:
            label = _label(s, repeated)
            broken = _failed_invariants(s)
            for invariant in broken:
                lines.append(f"- **{label}** ({s['status']}): `{invariant.get('name')}` — "
                             f"{_inline(invariant.get('detail'))}")
            if s["status"] == "skipped":
                lacks = ", ".join(missing_capabilities(dict(s)))
                lines.append(f"- **{label}** (skipped): the target lacks {lacks}")
                continue
            error = s.get("error")
            if error:
                text = error.get("message") or error.get("type") if isinstance(
                    error, Mapping) else error
                lines.append(f"- **{label}** ({s['status']}): {_inline(text)}")
            if not broken and not error:
                lines.append(f"- **{label}** ({s['status']})")
            reproduction = next(
                (i.get("reproduction") for i in broken if i.get("reproduction")),
                s.get("reproduction"),
            )
            if reproduction:
                lines.append(f"  - reproduce: `{_inline(reproduction)}`")
        lines.append("")
    return lines


def _inline(value: Any) -> str:
    return str(value or "").replace("\n", " ").replace("`", "'")


def _offered(scenario: Mapping[str, Any]) -> float | None:
    """The scenario's offered rate when it offered load at a set rate (open loop)."""
    offered = _num(_get(scenario, "metrics", "offered_cps"))
    return offered if offered is not None and offered > 0 else None


def _percent(part: float | None, whole: float | None) -> str:
    if part is None or not whole:
        return "—"
    return f"{100.0 * part / whole:.1f} %"


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


def _fixed(value: Any, digits: int) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:,.{digits}f}"


def _compare_row(scenario: Any, target: Mapping[str, Any], cell: Any,
                 lacks_column: bool) -> list[Any]:
    """One target's cell of a compare row: status, delivered chunks/s, P50/P99 ms, lost,
    dropped, bug findings (and the capabilities it lacked, when any cell lacked one)."""
    if not isinstance(cell, Mapping):
        row: list[Any] = [scenario, _target_text(target), "not run", *[None] * 6]
        return [*row, None] if lacks_column else row
    row = [scenario, _target_text(target), str(cell.get("status") or "—").upper(),
           _rate(cell.get("throughput_cps")), _ms(cell.get("p50_ms")), _ms(cell.get("p99_ms")),
           _count(cell.get("lost")), _count(cell.get("dropped")), _count(cell.get("findings"))]
    if lacks_column:
        row.append(", ".join(str(c) for c in cell.get("skipped") or []) or None)
    return row


def _compare(results: Mapping[str, Any], comparison: Comparison | None) -> list[str]:
    """The ``compare`` section (docs/architecture.md, "Compare section"): per scenario, in
    the section's order, one row per target with its status, delivered rate, P50/P99, lost
    and dropped chunks and bug findings. ``comparison`` (a separate compare document) wins
    over a section the results carry themselves."""
    document = comparison.results if comparison is not None else results
    compare = document.get("compare")
    if compare is None:
        return []
    lines = ["## Side-by-side comparison", ""]
    if comparison is not None:
        lines += [f"From `{comparison.path}`: run `{document.get('run_id')}` of "
                  f"{document.get('created_at')}, `{document.get('command')}`.", ""]
    targets = compare.get("targets") if isinstance(compare, Mapping) else None
    rows = compare.get("rows") if isinstance(compare, Mapping) else None
    if (not isinstance(targets, list) or not isinstance(rows, list)
            or not all(isinstance(t, Mapping) and "name" in t for t in targets)):
        keys = ", ".join(sorted(map(str, compare))) if isinstance(compare, Mapping) else "—"
        return [*lines, f"The results carry a `compare` section in a shape this report does not "
                        f"read (keys: {keys}).", ""]
    quick = " (quick parameters)" if compare.get("quick") else ""
    lines += [f"Suite `{compare.get('suite')}`, seed {compare.get('seed')}{quick}, the same "
              "scenarios and parameters on every target:", ""]
    for target in targets:
        summary = target.get("summary") if isinstance(target.get("summary"), Mapping) else {}
        counts = ", ".join(f"{summary[k]} {k}" for k in sorted(summary) if summary[k])
        lines.append(f"- {_target_text(target)}: run `{target.get('run_id')}`"
                     + (f" ({counts})" if counts else ""))
    lines.append("")
    cells = [(row.get("scenario"), target, row.get(str(target["name"])))
             for row in rows if isinstance(row, Mapping) for target in targets]
    lacks_column = any(isinstance(c, Mapping) and c.get("skipped") for _s, _t, c in cells)
    header = ["Scenario", "Target", "Status", "Delivered chunks/s", "P50 ms", "P99 ms", "Lost",
              "Dropped", "Bug findings"]
    if lacks_column:
        header.append("Lacks")
    lines += [*_table(header, [_compare_row(s, t, c, lacks_column) for s, t, c in cells],
                      "lll" + "r" * 6 + "l" * lacks_column), ""]
    paced = [s for s in document.get("scenarios") or []
             if isinstance(s, Mapping) and _offered(s) is not None]
    if paced and len(paced) == len(document.get("scenarios") or []):
        lines += [f"In {_target_text(targets[0])}'s run every scenario offered load at a set "
                  "rate, so delivered chunks/s follows that rate (see Throughput): it says what "
                  "got through, not how fast a target is.", ""]
    by_name = {str(s.get("name")): s for s in reversed(document.get("scenarios") or [])
               if isinstance(s, Mapping)}
    missing = [(str(s), t) for s, t, c in cells
               if isinstance(c, Mapping) and c.get("p99_ms") is None
               and str(c.get("status")) != "skipped"]
    into_buffer = sorted({s for s, _t in missing if _writes_into_buffer(by_name.get(s))})
    undelivered = [f"{s} ({t['name']})" for s, t in missing if s not in into_buffer]
    if into_buffer:
        lines += [f"P50/P99 — for {', '.join(into_buffer)}: {_BUFFER_NOTE}.", ""]
    if undelivered:
        lines += [f"P50/P99 — for {', '.join(undelivered)}: no chunk was delivered.", ""]
    return lines


REPRODUCTION_MAX_LINES = 40
"""A longer reproduction (a generated fuzz script) stays in its ledger; the report says how
to get it instead of printing hundreds of lines per finding."""


def _reproduction_lines(text: str, kind: str) -> list[str]:
    count = text.count("\n") + 1
    if count <= REPRODUCTION_MAX_LINES:
        return ["**Reproduction**", "", *_fence(text), ""]
    return [f"**Reproduction:** a self-contained {count}-line script, the entry's "
            f"`reproduction` field in `{LEDGER_FILES.get(kind, kind)}` (save it and run "
            "`python repro.py [MODULE]`: exit 1 while the defect is present, 0 once fixed).", ""]


def _entry_lines(entry: Mapping[str, Any], kind: str) -> list[str]:
    lines = [f"#### {entry.get('id')}: {entry.get('title')}", ""]
    rank = entry.get("priority") if kind == "improvement" else entry.get("severity")
    source = entry.get("source") or ("run" if entry.get("fingerprint") else "manual")
    if entry.get("origin"):
        source = f"{source} ({entry['origin']})"
    header = ["Category", "Component", "Target", "Status", "Source"]
    row = [entry.get("category"), entry.get("component"), _target_text(entry.get("target")),
           entry.get("status"), source]
    if kind != "strength":
        header.insert(0, "Priority" if kind == "improvement" else "Severity")
        row.insert(0, rank)
    lines += _table(header, [row])
    lines.append("")
    if entry.get("description"):
        lines += [str(entry["description"]), ""]
    if entry.get("reproduction"):
        lines += _reproduction_lines(str(entry["reproduction"]), kind)
    for key, label in (("expected", "Expected"), ("actual", "Actual"), ("impact", "Impact"),
                       ("recommendation", "Recommendation"), ("notes", "Notes")):
        if entry.get(key):
            lines += [f"**{label}:** {_inline(entry[key])}", ""]
    ours = entry.get("our_library")
    if isinstance(ours, Mapping) and ours.get("answer"):
        docs = f" (see `{ours['docs']}`)" if ours.get("docs") else ""
        lines += [f"**What {ours.get('name', 'our library')} does:** "
                  f"{_inline(ours['answer'])}{docs}", ""]
    found_by = _found_by(entry)
    if found_by:
        lines += ["**Found by**", "", *found_by, ""]
    seen = _seen(entry)
    if seen:
        lines += [seen, ""]
    return lines


def _found_by(entry: Mapping[str, Any]) -> list[str]:
    """One line per check of ``evidence.found_by``, in the ledger's order (the order the
    checks first saw the defect): the check, where it ran (run id and seed, or fuzz machine
    and seed) and the command that runs it again. Records without a check are left out."""
    records = _get(entry, "evidence", "found_by")
    if not isinstance(records, list):
        return []
    lines = []
    for record in records:
        if not isinstance(record, Mapping) or not record.get("check"):
            continue
        lines.append(f"- `{_inline(record['check'])}` ({_record_source(record)})"
                     + (f": `{_inline(record['reproduction'])}`"
                        if record.get("reproduction") else ""))
    return lines


def _record_source(record: Mapping[str, Any]) -> str:
    """``run `<id>`, seed 7`` or ``fuzz `<id>`, queue machine, seed 3, script verified``."""
    source = _inline(record.get("source") or "run")
    parts = [f"{source} `{_inline(record['run_id'])}`" if record.get("run_id") else source]
    if record.get("machine"):
        parts.append(f"{_inline(record['machine'])} machine")
    if record.get("seed") is not None:
        parts.append(f"seed {_inline(str(record['seed']))}")
    if _num(record.get("repeat_index")):
        parts.append(f"repeat {record['repeat_index']}")
    if "confirmed" in record:
        parts.append("script verified" if record["confirmed"] else "script not verified")
    return ", ".join(parts)


def _seen(entry: Mapping[str, Any]) -> str:
    if not entry.get("first_seen") and not entry.get("last_seen_run"):
        return ""
    text = f"**Seen:** first {entry.get('first_seen')}"
    if entry.get("first_seen_run"):
        text += f" (run `{entry['first_seen_run']}`)"
    text += f", last {entry.get('last_seen')}"
    if entry.get("last_seen_run"):
        text += f" (run `{entry['last_seen_run']}`)"
    if entry.get("seen_count"):
        text += f", {_plural(int(entry['seen_count']), 'run')}"
    if entry.get("status") == "fixed" and entry.get("fixed_in_run"):
        text += f"; fixed as of run `{entry['fixed_in_run']}`"
        if entry.get("fixed_in_version"):
            text += f" (version {entry['fixed_in_version']})"
    return text + "."


_SET_ASIDE = ("withdrawn", "merged")
"""Statuses of entries the harness no longer counts as findings (docs/judging.md): listed
with their reason, not in full."""


def _findings(ledgers: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    lines = ["## Findings", ""]
    for kind in KINDS:
        everything = sorted(ledgers.get(kind, ()), key=_id_key)
        entries = [e for e in everything if e.get("status") not in _SET_ASIDE]
        aside = [e for e in everything if e.get("status") in _SET_ASIDE]
        lines += [f"### {_KIND_TITLES[kind]} ({len(entries)})", ""]
        if not entries:
            lines += ["None recorded.", ""]
        for entry in entries:
            lines += _entry_lines(entry, kind)
        if aside:
            lines += [f"#### No longer counted ({len(aside)})", "",
                      "Entries the harness withdrew (not a defect by the target's declared "
                      "semantics, or only our recommendation) or merged into the entry of "
                      "their root cause; see docs/judging.md.", ""]
            lines += [_aside_line(entry) for entry in aside] + [""]
    return lines


def _aside_line(entry: Mapping[str, Any]) -> str:
    if entry.get("status") == "merged":
        why = f"merged into {entry.get('merged_into')}"
    else:
        why = f"withdrawn: {_inline(str(entry.get('withdrawn_reason') or 'no reason given'))}"
    return f"- {entry.get('id')} {_inline(str(entry.get('title')))} — {why}"


def _developer_experience(dx_scores: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["## Developer Experience", ""]
    if not dx_scores:
        return [*lines, "No scores recorded in `dx.json`.", ""]
    ordered = sorted(dx_scores, key=lambda s: (_target_text(s.get("target")),
                                               str(s.get("source", ""))))
    for score_set in ordered:
        scale = score_set.get("scale", 5)
        scale_text = _plain(scale)
        origin = ", ".join(str(x) for x in (score_set.get("source"), score_set.get("origin")) if x)
        lines += [f"### {_target_text(score_set.get('target'))}"
                  + (f" ({origin})" if origin else ""), ""]
        rows = [(c.get("name"), f"{_plain(c.get('score'))}/{scale_text}")
                for c in score_set.get("categories") or []]
        overall = score_set.get("overall")
        if overall is None and rows:
            overall = round(statistics.fmean(
                float(c.get("score", 0)) for c in score_set.get("categories") or []), 1)
        rows.append(("**Overall**", f"**{_plain(overall)}/{scale_text}**"))
        lines += [*_table(("Category", "Score"), rows, "lr"), ""]
    return lines


def _plain(value: Any) -> str:
    number = _num(value)
    if number is None:
        return "—"
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _recommendations(ledgers: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    lines = ["## Recommendations", ""]
    bugs = sorted(
        (e for e in ledgers.get("bug", ()) if e.get("status") == "open"),
        key=lambda e: (_rank(e.get("severity"), SEVERITIES), _id_key(e)),
    )
    improvements = sorted(
        (e for e in ledgers.get("improvement", ()) if e.get("status") == "open"),
        key=lambda e: (_rank(e.get("priority"), PRIORITIES), _id_key(e)),
    )
    items = []
    for entry in bugs:
        items.append(f"**{entry['id']}** ({entry.get('severity')}, "
                     f"{_target_text(entry.get('target'))}): {_inline(entry.get('title'))} — "
                     f"{_inline(entry.get('recommendation') or 'fix it')}")
    for entry in improvements:
        items.append(f"**{entry['id']}** ({entry.get('priority')}, "
                     f"{_target_text(entry.get('target'))}): {_inline(entry.get('title'))} — "
                     f"{_inline(entry.get('recommendation') or entry.get('title'))}")
    if not items:
        return [*lines, "No open bug or improvement in the ledgers.", ""]
    return [*lines, *(f"{n}. {item}" for n, item in enumerate(items, 1)), ""]


def _rank(value: Any, order: Sequence[str]) -> int:
    return order.index(value) if value in order else len(order)


def _conclusion(
    results: Mapping[str, Any], ledgers: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[str]:
    scenarios = results["scenarios"]
    target = results.get("target") or {}
    word, sentence = verdict(results)
    recorded = results.get("hypotheses") or {}
    by_status: dict[str, list[str]] = {}
    for name in _hypothesis_texts():
        status = str(_get(recorded, name, "status") or "untested")
        by_status.setdefault(status, []).append(name)
    hypothesis_text = "; ".join(
        f"{status}: {', '.join(by_status[status])}"
        for status in (*_HYPOTHESIS_STATUSES, *sorted(set(by_status) - set(_HYPOTHESIS_STATUSES)))
        if by_status.get(status)
    )
    paragraphs = [f"{sentence} Hypotheses — {hypothesis_text}."]

    performance = []
    peak = _peak_rate(scenarios)
    if peak:
        performance.append(f"the highest delivered rate was {peak}")
    p99 = _max_by(scenarios, "latency_ms", "p99")
    if p99:
        performance.append(f"the worst P99 latency {_ms(p99[0])} ms ({p99[1]})")
    p999 = _max_by(scenarios, "latency_ms", "p999")
    if p999:
        performance.append(f"the worst P99.9 {_ms(p999[0])} ms ({p999[1]})")
    lost = _total(scenarios, "lost")
    if lost is not None:
        performance.append(f"{_count(lost)} {'chunk was' if lost == 1 else 'chunks were'} "
                           "lost without an event")
    if performance:
        text = "; ".join(performance)
        paragraphs.append(text[0].upper() + text[1:] + ".")

    name = target.get("name")
    mine = [e for kind in ("bug", "dx")
            for e in sorted(ledgers.get(kind, ()), key=_id_key)
            if _get(e, "target", "name") == name]
    open_ids = [e["id"] for e in mine if e.get("status") == "open"]
    fixed_ids = [e["id"] for e in mine if e.get("status") == "fixed"]
    finding_text = (f"The ledgers hold {len(open_ids) or 'no'} open bug or DX "
                    f"{'finding' if len(open_ids) < 2 else 'findings'} against {name}"
                    + (f" ({', '.join(open_ids)})" if open_ids else ""))
    if fixed_ids:
        finding_text += f" and {len(fixed_ids)} fixed ({', '.join(fixed_ids)})"
    paragraphs.append(finding_text + ".")
    others = sorted({_target_text(e.get("target")) for kind in KINDS
                     for e in ledgers.get(kind, ()) if _get(e, "target", "name") != name})
    if others:
        paragraphs.append(f"They also hold findings about {', '.join(others)}; see Findings.")
    if word == "INVALID":
        paragraphs.append("Re-run on a quieter machine or with a lower load before drawing "
                          "conclusions from the numbers.")
    lines = ["## Conclusion", ""]
    for paragraph in paragraphs:
        lines += [paragraph, ""]
    return lines


def _appendix(sources: Sequence[SourceFile]) -> list[str]:
    rows = [(f"`{s.path}`", f"`{s.sha256}`") for s in sorted(sources, key=lambda s: s.path)]
    return ["## Appendix: files this report was built from", "",
            *_table(("File", "SHA-256"), rows), ""]


def build_report(
    results: Mapping[str, Any],
    ledgers: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    dx_scores: Sequence[Mapping[str, Any]] = (),
    sources: Sequence[SourceFile] = (),
    comparison: Comparison | None = None,
) -> str:
    """The report as Markdown: a pure function of its arguments.

    ``ledgers`` maps each kind (bug, dx, improvement, strength) to its entries;
    ``dx_scores`` is ``dx.json``'s ``scores``; ``sources`` are listed with their SHA-256;
    ``comparison`` is rendered as the side-by-side section instead of any ``compare`` section
    the results carry.
    """
    lines = _header(results)
    for _key, section in report_sections(results, ledgers, dx_scores=dx_scores,
                                         sources=sources, comparison=comparison):
        lines += section
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


SECTION_KEYS = ("summary", "hypotheses", "results", "performance", "compare", "findings",
                "dx", "recommendations", "conclusion", "appendix")
"""The report's sections in order, by the key :func:`report_sections` gives each."""


def report_sections(
    results: Mapping[str, Any],
    ledgers: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    dx_scores: Sequence[Mapping[str, Any]] = (),
    sources: Sequence[SourceFile] = (),
    comparison: Comparison | None = None,
) -> list[tuple[str, list[str]]]:
    """The report's numbered sections after the header, as ``(key, Markdown lines)`` with
    keys from :data:`SECTION_KEYS` (a section with nothing to say is left out); the first
    line of each is its ``## N. Title`` heading. :func:`build_report` and the HTML report
    render the same sections."""
    sections = [
        ("summary", _executive_summary(results, ledgers)),
        ("hypotheses", _hypotheses(results)),
        ("results", _test_results(results)),
        ("performance", _performance(results)),
        ("compare", _compare(results, comparison)),
        ("findings", _findings(ledgers)),
        ("dx", _developer_experience(dx_scores)),
        ("recommendations", _recommendations(ledgers)),
        ("conclusion", _conclusion(results, ledgers)),
    ]
    out = []
    for number, (key, section) in enumerate(((k, s) for k, s in sections if s), 1):
        out.append((key, [f"## {number}. {section[0].removeprefix('## ')}", *section[1:]]))
    out.append(("appendix", _appendix(sources)))
    return out


def report_header(results: Mapping[str, Any]) -> list[str]:
    """The report's title line and run table (Markdown), before the first section."""
    return _header(results)

