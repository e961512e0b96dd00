"""The Conclusion section: the verdict and hypotheses in one sentence each, the headline
performance numbers, and the open and fixed findings against the target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.ledgers import KINDS
from harness.report.hypotheses import _HYPOTHESIS_STATUSES, _hypothesis_texts
from harness.report.markdown import _count, _get, _id_key, _ms, _target_text
from harness.report.scenarios import _max_by, _peak_rate, _total, verdict

__all__: list[str] = []


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
