"""The report assembled: :func:`report_sections` numbers the sections in order
(:data:`SECTION_KEYS`), leaves out the empty ones and closes with the appendix of source
files; :func:`build_report` joins them under :func:`report_header` into one Markdown text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.comparison import _compare
from harness.report.conclusion import _conclusion
from harness.report.dx import _developer_experience
from harness.report.findings import _findings
from harness.report.hypotheses import _hypotheses
from harness.report.inputs import Comparison, SourceFile
from harness.report.markdown import _table
from harness.report.performance import _performance
from harness.report.recommendations import _recommendations
from harness.report.results_table import _test_results
from harness.report.summary import _executive_summary, _header

__all__ = ["SECTION_KEYS", "build_report", "report_header", "report_sections"]


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
