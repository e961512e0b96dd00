"""The Developer Experience section: the scores of ``dx.json`` per target and source, with
the overall score (the mean of the categories when none is recorded).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.markdown import _plain, _table, _target_text

__all__: list[str] = []


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
