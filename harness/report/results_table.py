"""The Test Results section: one row per scenario run (status, chunks sent, delivered,
dropped, refused, stranded, lost, rate, P99) and, for each run that did not pass, why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.findings import missing_capabilities
from harness.report.markdown import _count, _duration, _get, _inline, _ms, _rate, _table
from harness.report.scenarios import _failed_invariants, _is_repeated, _label, _writes_into_buffer

__all__: list[str] = []


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
