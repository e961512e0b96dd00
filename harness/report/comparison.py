"""The Side-by-side comparison section: per scenario, one row per target of a ``compare``
document (docs/architecture.md, "Compare section").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.report.inputs import Comparison
from harness.report.markdown import _count, _ms, _rate, _table, _target_text
from harness.report.scenarios import _BUFFER_NOTE, _offered, _writes_into_buffer

__all__: list[str] = []


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
