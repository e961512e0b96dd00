"""``stageflow-stress report``: regenerate the final report from results and ledgers.

The side-by-side comparison comes from ``--compare FILE``, by default
``compare-latest.json`` next to the results file when it exists (what ``stageflow-stress
compare`` writes); ``--no-compare`` leaves it out. Every input is listed in the appendix
with its SHA-256. ``--check`` writes nothing: it exits 1 when the report on disk differs
from what would be generated (naming the file and the first differing line), 0 when it is
current.

``--html`` writes the HTML report instead (``results/report.html`` by default): the same
sections with plots, one self-contained file (docs/report.md, "The HTML report").
``--baseline FILE`` overlays another run (e.g. ``results/baseline.json``) on its charts.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from harness.commands.compare import COMPARE_LATEST
from harness.errors import EXIT_FAIL, EXIT_OK, HarnessError
from harness.jsonio import read_json_bytes, write_text_atomic
from harness.ledgers import KINDS, load_ledgers
from harness.report import Comparison, SourceFile, build_report
from harness.results import validate_results

__all__ = ["compare_path_for", "configure", "display_path", "execute", "generate"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, default=Path("results/latest.json"),
                        metavar="FILE", help="results document (default: results/latest.json)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--compare", type=Path, default=None, metavar="FILE",
                       help="compare document to render side by side (default: "
                            f"{COMPARE_LATEST} next to the results file, when it exists)")
    which.add_argument("--no-compare", action="store_true",
                       help="leave the side-by-side comparison out")
    parser.add_argument("--ledger-dir", type=Path, default=Path("."), metavar="DIR",
                        help="directory holding bugs.json, dx.json, improvements.json, "
                             "strengths.json (default: .)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="where to write the report (default: results/report.md, with "
                             "--html results/report.html)")
    parser.add_argument("--html", action="store_true",
                        help="write the self-contained HTML report with plots")
    parser.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                        help="with --html: a results document to overlay on every chart "
                             "(e.g. results/baseline.json)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the report on disk is stale, 0 if current; write nothing")


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, POSIX separators."""
    path = Path(path)
    try:
        shown = Path(os.path.relpath(path.resolve(), Path.cwd().resolve()))
    except ValueError:  # another drive on Windows
        shown = path
    if str(shown).startswith(".."):
        shown = path
    return shown.as_posix()


def _read_results(path: Path, what: str, hint: str) -> tuple[bytes, dict[str, Any]]:
    """The raw bytes and the validated document of a results file."""
    raw, doc = read_json_bytes(path, what=what, hint=hint)
    return raw, validate_results(doc, source=str(path))


def compare_path_for(results_path: Path, compare: Path | None, *,
                     results: dict[str, Any]) -> Path | None:
    """The compare document a report uses: ``compare`` when given; else
    ``compare-latest.json`` beside the results when it exists, is another file and the
    results carry no ``compare`` section of their own; else None."""
    if compare is not None:
        return Path(compare)
    candidate = Path(results_path).parent / COMPARE_LATEST
    if "compare" in results or not candidate.exists():
        return None
    if candidate.resolve() == Path(results_path).resolve():
        return None
    return candidate


def generate(results_path: Path, ledger_dir: Path, compare: Path | None = None, *,
             use_compare: bool = True, html: bool = False,
             baseline: Path | None = None) -> str:
    """The report text for these inputs: Markdown, or with ``html`` the HTML report
    (with ``baseline``, a results file overlaid on its charts).

    ``compare`` is the compare document to render; None looks for ``compare-latest.json``
    beside the results (:func:`compare_path_for`); ``use_compare=False`` renders none.

    :raises HarnessError: the results, the baseline, the compare document or a ledger is
        missing, unreadable or corrupt, or the compare document has no ``compare`` section.
    """
    results_path = Path(results_path)
    raw, results = _read_results(results_path, "results file",
                                 "run `stageflow-stress run` first")
    ledgers = load_ledgers(Path(ledger_dir))
    sources = [SourceFile(display_path(results_path), raw)]
    sources += [SourceFile(display_path(ledger.path), ledger.raw)
                for ledger in ledgers.values() if ledger.raw is not None]
    comparison = None
    compare_path = compare_path_for(results_path, compare, results=results) if use_compare \
        else None
    if compare_path is not None:
        compare_raw, compare_doc = _read_results(
            compare_path, "compare file",
            "run `stageflow-stress compare` first, or pass --no-compare")
        if "compare" not in compare_doc:
            raise HarnessError(f"compare file {compare_path} has no 'compare' section (it is "
                               "not what `stageflow-stress compare` writes); pass another "
                               "--compare or --no-compare")
        comparison = Comparison(compare_doc, display_path(compare_path))
        if compare_path.resolve() != results_path.resolve():
            sources.append(SourceFile(comparison.path, compare_raw))
    entries = {kind: ledgers[kind].entries for kind in KINDS}
    dx_scores = ledgers["dx"].doc.get("scores") or []
    if not html:
        return build_report(results, entries, dx_scores=dx_scores, sources=sources,
                            comparison=comparison)
    from harness.html import build_html_report
    from harness.plots import Run

    overlay = None
    if baseline is not None:
        baseline_raw, baseline_doc = _read_results(
            Path(baseline), "baseline file", "pass a results document written by `run`")
        overlay = Run("baseline", baseline_doc, baseline=True,
                      source=display_path(Path(baseline)))
        sources.append(SourceFile(overlay.source, baseline_raw))
    sweep_path = Path(results_path).parent / "sweep-latest.json"  # what `sweep` writes
    sweep_doc = None
    if sweep_path.exists():
        sweep_raw, sweep_doc = _read_results(sweep_path, "sweep file", "")
        sources.append(SourceFile(display_path(sweep_path), sweep_raw))
    return build_html_report(results, entries, dx_scores=dx_scores, sources=sources,
                             comparison=comparison, baseline=overlay,
                             results_label=display_path(results_path), sweep=sweep_doc,
                             sweep_label=display_path(sweep_path))


def execute(args: argparse.Namespace) -> int:
    if args.baseline is not None and not args.html:
        raise HarnessError("--baseline overlays a run on the HTML report's charts: add --html")
    text = generate(args.results, args.ledger_dir, args.compare, use_compare=not args.no_compare,
                    html=args.html, baseline=args.baseline)
    out: Path = args.out or Path("results/report.html" if args.html else "results/report.md")
    if args.check:
        try:
            current = out.read_text(encoding="utf-8")
        except FileNotFoundError:
            print(f"{out} is missing: run `stageflow-stress report` to write it")
            return EXIT_FAIL
        except (OSError, UnicodeDecodeError) as exc:
            raise HarnessError(f"cannot read {out}: {exc}") from exc
        if current == text:
            print(f"{out} is current")
            return EXIT_OK
        print(f"{out} is stale (first difference at line {_first_difference(current, text)}): "
              "run `stageflow-stress report` to regenerate it")
        return EXIT_FAIL
    write_text_atomic(out, text)
    print(f"wrote {out}")
    return EXIT_OK


def _first_difference(old: str, new: str) -> int:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), 1):
        if a != b:
            return number
    return min(len(old_lines), len(new_lines)) + 1
