"""The final report in the TRANSFORM-007 structure, regenerated from results and ledgers only.

:func:`build_report` is a pure function of its inputs: no clock, no environment, sorted
iteration, fixed number formats. The same results document, ledgers and source list give a
byte-identical Markdown text. Sections: run header, Executive Summary, Hypotheses, Test
Results, Performance Analysis, Side-by-side comparison (when the results carry
``compare``), Findings, Developer Experience, Recommendations, Conclusion, Appendix.

The package follows the report from its inputs to its text: :mod:`~harness.report.inputs`
(what it is built from), :mod:`~harness.report.markdown` (tables and number formats),
:mod:`~harness.report.scenarios` (reading the scenario runs; the verdict), one module per
section — :mod:`~harness.report.summary` (header and Executive Summary),
:mod:`~harness.report.hypotheses`, :mod:`~harness.report.results_table` (Test Results),
:mod:`~harness.report.performance`, :mod:`~harness.report.comparison`,
:mod:`~harness.report.findings`, :mod:`~harness.report.dx`,
:mod:`~harness.report.recommendations`, :mod:`~harness.report.conclusion` — and
:mod:`~harness.report.build` (the sections in order, joined into one text).
"""

from __future__ import annotations

from harness.report.build import SECTION_KEYS, build_report, report_header, report_sections
from harness.report.findings import REPRODUCTION_MAX_LINES
from harness.report.inputs import Comparison, SourceFile
from harness.report.scenarios import verdict

__all__ = [
    "REPRODUCTION_MAX_LINES",
    "SECTION_KEYS",
    "Comparison",
    "SourceFile",
    "build_report",
    "report_header",
    "report_sections",
    "verdict",
]
