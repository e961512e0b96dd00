"""The Hypotheses section: each hypothesis of the TRANSFORM-007 report (H1-H8, from
:data:`scenarios.registry.HYPOTHESES`) with the status and evidence the run recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.report.markdown import _table

__all__: list[str] = []

_HYPOTHESIS_STATUSES = ("supported", "refuted", "inconclusive", "untested")


def _hypothesis_texts() -> Mapping[str, str]:
    # Imported when a report is built, not when the CLI starts: ``scenarios`` registers
    # every built-in scenario on import.
    from scenarios.registry import HYPOTHESES

    return HYPOTHESES


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
