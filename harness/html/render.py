"""Render the HTML report: the Markdown report's sections as HTML, plus the charts.

:func:`build_html_report` is a pure function of its inputs, like the Markdown report: no
clock, no environment, the same inputs give the same bytes. The page is one file: the
vendored uPlot script and stylesheet, the report's own script and stylesheet and the chart
data (JSON) are inlined, so it opens offline from disk with nothing fetched.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from markdown_it import MarkdownIt

from harness.plots import Run, compare_charts, missing_plots, scenario_charts, sweep_charts
from harness.report import Comparison, SourceFile, report_header, report_sections

__all__ = ["UPLOT_FILES", "UPLOT_VERSION", "build_html_report", "slug"]

UPLOT_VERSION = "1.6.32"
UPLOT_FILES = {
    "uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
    "uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
    "uPlot.LICENSE": "8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd",
}
"""The vendored files (``harness/html/vendor``) and their SHA-256: the pin."""
_HERE = Path(__file__).parent


@cache
def _asset(name: str) -> str:
    """A vendored or own asset's text; a vendored file must match its pinned hash.

    :raises RuntimeError: a vendored file differs from the pinned one.
    """
    path = _HERE / "vendor" / name if name in UPLOT_FILES else _HERE / name
    raw = path.read_bytes()
    if name in UPLOT_FILES and hashlib.sha256(raw).hexdigest() != UPLOT_FILES[name]:
        raise RuntimeError(f"{path}: content differs from the pinned uPlot {UPLOT_VERSION} "
                           "file (see harness/html/vendor/README.md)")
    return raw.decode("utf-8")


@cache
def _markdown() -> MarkdownIt:
    # html: the report's own cells use <br>; its text comes from results and ledgers
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def _md(lines: Sequence[str]) -> str:
    return _markdown().render("\n".join(lines) + "\n")


def slug(text: str) -> str:
    """An id for an anchor: lower case, runs of other characters as one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _inline_script(text: str) -> str:
    """Script text that cannot end its ``<script>`` element early."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def _inline_json(text: str) -> str:
    return text.replace("</", "<\\/")  # "\/" is "/" in JSON


def _figure(chart: Mapping[str, Any]) -> str:
    return (f'<figure class="chart" data-chart="{html.escape(chart["id"])}">'
            f'<figcaption><b>{html.escape(chart["title"])}</b> '
            f'<span>{html.escape(chart["caption"])}</span></figcaption></figure>')


# --- sections -------------------------------------------------------------------------------

def _heading(lines: Sequence[str]) -> tuple[str, list[str]]:
    return lines[0].removeprefix("## ").strip(), list(lines[1:])


def _performance(body: list[str], results: Mapping[str, Any], results_label: str,
                 baseline: Run | None, charts: list[dict[str, Any]]) -> str:
    current = Run("this run", results)
    notes = missing_plots(results, results_label)
    if baseline is not None:
        notes += missing_plots(baseline.doc, f"the baseline {baseline.source or baseline.label}")
    parts = ['<h3 id="plots">Plots</h3>']
    if baseline is not None:
        parts.append(f'<p class="overlay">Overlaid: this run and the baseline '
                     f'<code>{html.escape(baseline.source or baseline.label)}</code> '
                     f'(run <code>{html.escape(str(baseline.doc.get("run_id")))}</code>).</p>')
    if notes:
        parts.append('<div class="notice"><b>Plots this report cannot draw</b><ul>'
                     + "".join(f"<li>{_md_inline(n)}</li>" for n in notes) + "</ul></div>")
    names = list(dict.fromkeys(str(s.get("name")) for s in results.get("scenarios") or []))
    if len(names) > 1:
        parts.append('<p class="jump">' + " · ".join(
            f'<a href="#plots-{slug(n)}">{html.escape(n)}</a>' for n in names) + "</p>")
    seen: list[str] = []
    for scenario in results.get("scenarios") or []:
        name = str(scenario.get("name"))
        if name in seen:
            continue
        seen.append(name)
        mine = scenario_charts(name, current, baseline, prefix=f"p{len(seen)}")
        parts.append(f'<h4 id="plots-{slug(name)}">{html.escape(name)}</h4>')
        if not mine:
            why = ("skipped: the target lacks a capability it needs"
                   if scenario.get("status") == "skipped" else "no sample to plot")
            parts.append(f'<p class="nochart">No plot: {html.escape(why)}.</p>')
            continue
        charts.extend(mine)
        parts.append('<div class="charts">' + "".join(_figure(c) for c in mine) + "</div>")
    return "\n".join(parts) + _md(body)


def _md_inline(text: str) -> str:
    return _markdown().renderInline(text)


def _compare(body: list[str], results: Mapping[str, Any], comparison: Comparison | None,
             charts: list[dict[str, Any]]) -> str:
    document = comparison.results if comparison is not None else results
    compare = document.get("compare")
    mine = compare_charts(compare, "cmp") if isinstance(compare, Mapping) else []
    charts.extend(mine)
    figures = ('<div class="charts">' + "".join(_figure(c) for c in mine) + "</div>"
               if mine else "")
    return figures + _md(body)


def _sweep(sweep_doc: Mapping[str, Any], source: str, charts: list[dict[str, Any]]) -> str:
    """The sweep section: the best pooled cell under the SLO, the charts over the swept
    parameters and a table of every pooled cell (docs/sweeps.md)."""
    from harness.commands.sweep import best_line
    from harness.sweep.document import describe_params

    sweep = sweep_doc["sweep"]
    mine = sweep_charts(sweep, "sw")
    charts.extend(mine)
    lines = [f"From `{source}` (run `{sweep_doc.get('run_id')}`, "
             f"`{sweep_doc.get('command')}`): {len(sweep.get('cells') or [])} cells on "
             f"{sweep['executor']['kind']} in {sweep.get('wall_s', 0):.1f} s.", ""]
    best = best_line(sweep_doc)
    if best:
        lines += [best, ""]
    lines += ["| target | scenario | params | seeds | status | P99 ms | dropped | chunks/s | SLO |",
              "|---|---|---|---|---|---|---|---|---|"]
    for group in sweep.get("groups") or []:
        metrics = group["metrics"]
        latency = metrics["latency_ms"]
        p99 = format(latency["p99"], ".4g") if latency["count"] else "-"
        met = {True: "met", False: "not met", None: ""}[group["slo"]["met"]]
        if group["index"] == sweep["slo"]["best"]:
            met = "**best**"
        lines.append(f"| {group['target']} | {group['scenario']} | "
                     f"`{describe_params(group['params'])}` | {len(group['seeds'])} | "
                     f"{group['status']} | {p99} | "
                     f"{metrics['dropped']} | {metrics['throughput_cps']:,.0f} | {met} |")
    figures = ('<div class="charts">' + "".join(_figure(c) for c in mine) + "</div>"
               if mine else "")
    return figures + _md(lines)


_ENTRY = re.compile(r"^#### (?P<id>[A-Z]+-\d+): (?P<title>.*)$")


def _finding(lines: list[str], entries: Mapping[str, Mapping[str, Any]]) -> str:
    match = _ENTRY.match(lines[0])
    ident = match.group("id") if match else ""
    title = match.group("title") if match else lines[0].lstrip("# ")
    entry = entries.get(ident, {})
    rank = entry.get("severity") or entry.get("priority") or ""
    status = entry.get("status") or ""
    body = _wrap_reproduction(lines[1:], str(entry.get("reproduction") or ""))
    badges = "".join(f'<span class="badge b-{slug(str(v))}">{html.escape(str(v))}</span>'
                     for v in (rank, status) if v)
    return (f'<details class="finding" id="{html.escape(slug(ident or title))}"><summary>'
            f'<span class="fid">{html.escape(ident)}</span>{badges} '
            f"{_md_inline(title)}</summary>{_md(body)}</details>")


def _wrap_reproduction(lines: list[str], script: str) -> list[str]:
    """The ``**Reproduction**`` block (a fenced snippet) as a collapsible ``<details>``,
    open; a script too long for the Markdown report (which points to the ledger) in full,
    in a closed one."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("**Reproduction:** a self-contained") and script:
            ticks = "```"
            while ticks in script:
                ticks += "`"
            count = script.strip("\n").count("\n") + 1
            summary = _md_inline(f"Reproduction: a self-contained {count}-line script (save it "
                                 "and run `python repro.py [MODULE]`: exit 1 while the defect "
                                 "is present, 0 once fixed)")
            out += [f'<details class="repro"><summary>{summary}</summary>', "",
                    f"{ticks}python", script.strip("\n"), ticks, "", "</details>", ""]
            i += 1
            continue
        if lines[i] == "**Reproduction**" and i + 2 < len(lines) \
                and lines[i + 2].startswith("```"):
            fence = re.match(r"^`+", lines[i + 2]).group(0)  # type: ignore[union-attr]
            end = i + 3
            while end < len(lines) and lines[end] != fence:
                end += 1
            out += ['<details class="repro" open><summary>Reproduction</summary>', "",
                    *lines[i + 2:end + 1], "", "</details>", ""]
            i = end + 1
            continue
        out.append(lines[i])
        i += 1
    return out


def _findings(body: list[str], ledgers: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    entries = {str(e.get("id")): e for kind in ledgers for e in ledgers[kind]}
    parts: list[str] = []
    text: list[str] = []
    entry: list[str] | None = None

    def flush() -> None:
        nonlocal entry
        if entry is not None:
            parts.append(_finding(entry, entries))
            entry = None

    for line in body:
        if line.startswith("#### "):
            flush()
            if text:
                parts.append(_md(text))
                text = []
            entry = [line]
        elif line.startswith("### "):
            flush()
            text.append(line)
        elif entry is not None:
            entry.append(line)
        else:
            text.append(line)
    flush()
    if text:
        parts.append(_md(text))
    return "\n".join(parts)


_VERDICTS = ("supported", "refuted", "inconclusive", "untested", "PASS", "FAIL", "ERROR",
             "TIMEOUT", "INVALID", "SKIPPED")


def _badges(text: str) -> str:
    """Table cells that hold only a status, as coloured badges (read at a glance)."""
    for word in _VERDICTS:
        text = text.replace(f"<td>{word}</td>",
                            f'<td><span class="badge b-{slug(word)}">{word}</span></td>')
    return text


def build_html_report(
    results: Mapping[str, Any],
    ledgers: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    dx_scores: Sequence[Mapping[str, Any]] = (),
    sources: Sequence[SourceFile] = (),
    comparison: Comparison | None = None,
    baseline: Run | None = None,
    results_label: str = "the results",
    sweep: Mapping[str, Any] | None = None,
    sweep_label: str = "the sweep",
) -> str:
    """The HTML report: a pure function of its arguments.

    The arguments are :func:`harness.report.build_report`'s, plus ``baseline`` (a run to
    overlay on every chart), ``results_label`` (how the results file is named where the
    report says which plots it cannot draw) and ``sweep`` (a document written by
    ``stageflow-stress sweep``, shown in a last section, named ``sweep_label``).
    """
    charts: list[dict[str, Any]] = []
    header = report_header(results)
    title = header[0].removeprefix("# ")
    sections = report_sections(results, ledgers, dx_scores=dx_scores, sources=sources,
                               comparison=comparison)
    toc: list[str] = []
    body: list[str] = []
    for key, lines in sections:
        heading, rest = _heading(lines)
        anchor = slug(key)
        if key == "appendix" and sweep is not None and isinstance(sweep.get("sweep"), Mapping):
            toc.append('<a href="#sweep">Sweep</a>')  # a results section: before the inputs
            body.append(f'<section id="sweep"><h2>Sweep</h2>\n'
                        f'{_sweep(sweep, sweep_label, charts)}</section>')
        toc.append(f'<a href="#{anchor}">{html.escape(heading)}</a>')
        if key == "performance":
            content = _performance(rest, results, results_label, baseline, charts)
        elif key == "compare":
            content = _compare(rest, results, comparison, charts)
        elif key == "findings":
            content = _findings(rest, ledgers)
        elif key in ("hypotheses", "results"):
            content = _badges(_md(rest))
        else:
            content = _md(rest)
        body.append(f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>\n{content}'
                    "</section>")
    data = orjson.dumps(charts, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    return "\n".join([
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_asset('uPlot.min.css')}</style>",
        f"<style>{_asset('report.css')}</style>",
        "</head><body>",
        f'<header>{_md(header)}<nav>{"".join(toc)}</nav></header>',
        "<main>", *body, "</main>",
        f'<footer>Charts drawn with uPlot {UPLOT_VERSION} (MIT), inlined.</footer>',
        f'<script type="application/json" id="chart-data">{_inline_json(data)}</script>',
        f"<script>{_inline_script(_asset('uPlot.iife.min.js'))}</script>",
        f"<script>{_inline_script(_asset('report.js'))}</script>",
        "</body></html>",
        "",
    ])
