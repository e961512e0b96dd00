"""The HTML report: one self-contained file with the Markdown report's sections and plots.

:func:`build_html_report` renders the same sections as :func:`harness.report.build_report`
(Markdown rendered to HTML) and adds the charts of :mod:`harness.plots`, drawn in the
browser by uPlot (vendored in ``harness/html/vendor``, inlined: no CDN, no server).
:mod:`harness.html.browser` opens a report in headless Chromium to check that it draws.
"""

from __future__ import annotations

from harness.html.render import UPLOT_FILES, UPLOT_VERSION, build_html_report

__all__ = ["UPLOT_FILES", "UPLOT_VERSION", "build_html_report"]
