"""The Recommendations section: the open bugs by severity, then the open improvements by
priority, each with its recommendation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.ledgers import PRIORITIES, SEVERITIES
from harness.report.markdown import _id_key, _inline, _target_text

__all__: list[str] = []


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
