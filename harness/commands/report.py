"""``stageflow-stress report``: regenerate the final report from results and ledgers.

``--check`` writes nothing: it exits 1 when the report on disk differs from what would be
generated (naming the file and the first differing line), 0 when it is current.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import orjson

from harness.errors import EXIT_FAIL, EXIT_OK, HarnessError
from harness.jsonio import write_text_atomic
from harness.ledgers import KINDS, load_ledgers
from harness.report import SourceFile, build_report
from harness.results import validate_results

__all__ = ["configure", "display_path", "execute", "generate"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, default=Path("results/latest.json"),
                        metavar="FILE", help="results document (default: results/latest.json)")
    parser.add_argument("--ledger-dir", type=Path, default=Path("."), metavar="DIR",
                        help="directory holding bugs.json, dx.json, improvements.json, "
                             "strengths.json (default: .)")
    parser.add_argument("--out", type=Path, default=Path("results/report.md"), metavar="FILE",
                        help="where to write the report (default: results/report.md)")
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


def generate(results_path: Path, ledger_dir: Path) -> str:
    """The report text for these inputs.

    :raises HarnessError: the results or a ledger is missing, unreadable or corrupt.
    """
    results_path = Path(results_path)
    try:
        raw = results_path.read_bytes()
    except FileNotFoundError:
        raise HarnessError(
            f"results file {results_path} does not exist (run `stageflow-stress run` first)"
        ) from None
    except OSError as exc:
        raise HarnessError(f"cannot read results file {results_path}: "
                           f"{exc.strerror or exc}") from exc
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HarnessError(f"results file {results_path} is not valid JSON: line {exc.lineno}, "
                           f"column {exc.colno}: {exc.msg}") from None
    results = validate_results(doc, source=str(results_path))
    ledgers = load_ledgers(Path(ledger_dir))
    sources = [SourceFile(display_path(results_path), raw)]
    sources += [SourceFile(display_path(ledger.path), ledger.raw)
                for ledger in ledgers.values() if ledger.raw is not None]
    return build_report(
        results,
        {kind: ledgers[kind].entries for kind in KINDS},
        dx_scores=ledgers["dx"].doc.get("scores") or [],
        sources=sources,
    )


def execute(args: argparse.Namespace) -> int:
    text = generate(args.results, args.ledger_dir)
    out: Path = args.out
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
