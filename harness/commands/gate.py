"""``stageflow-stress gate``: check a run against thresholds and a baseline run.

Exit codes: 0 pass, 99 a threshold breached, 2 bad input, 3 the run was invalid.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from harness.errors import HarnessError
from harness.gate import (
    BREACH,
    DEFAULT_ALPHA,
    DEFAULT_MIN_REPEATS,
    INVALID,
    PASS,
    GateOutcome,
    evaluate,
    find_pyproject,
    gate_markdown,
    junit_cases,
    load_config,
    load_thresholds,
)
from harness.junit import write_junit
from harness.results import load_results

__all__ = ["configure", "execute"]

_STYLES = {PASS: "green", BREACH: "bold red", INVALID: "bold magenta"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="baseline results (default: 'baseline' in [tool.stageflow-stress])")
    parser.add_argument("--results", type=Path, default=Path("results/latest.json"),
                        metavar="FILE", help="results to check (default: results/latest.json)")
    parser.add_argument("--threshold", action="append", default=[], metavar="EXPR",
                        help='k6-style threshold, e.g. "latency.p99_ms < 50" or '
                             '"throughput_cps >= 0.9 * baseline" (repeatable)')
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="TOML file with thresholds = [...]")
    parser.add_argument("--junit", type=Path, metavar="FILE",
                        help="write JUnit XML, one test case per check")
    parser.add_argument("--scenario", action="append", default=[], metavar="NAME",
                        help="check only this scenario (repeatable)")
    parser.add_argument("--no-defaults", action="store_true",
                        help="ignore the thresholds in pyproject.toml [tool.stageflow-stress]")
    parser.add_argument("--no-status", action="store_true",
                        help="do not add a 'status == pass' check per scenario")
    parser.add_argument("--json", action="store_true",
                        help="print the checks as JSON instead of a table")
    parser.add_argument("--alpha", type=float, metavar="P",
                        help="a relative limit is breached only when the test's one-sided p "
                             f"is below P (default: 'alpha' in [tool.stageflow-stress], else "
                             f"{DEFAULT_ALPHA})")
    parser.add_argument("--min-repeats", type=int, metavar="N",
                        help="repeats of each scenario both sides need for relative checks "
                             "(default: 'min_repeats' in [tool.stageflow-stress], else "
                             f"{DEFAULT_MIN_REPEATS})")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="also write the HTML report of the results with the baseline "
                             "overlaid on its charts (linked from the Markdown summary)")
    parser.add_argument("--ledger-dir", type=Path, default=Path("."), metavar="DIR",
                        help="with --html: the ledgers its findings come from (default: .)")


def _load(path: Path, what: str) -> dict[str, Any]:
    try:
        return load_results(path)
    except HarnessError as exc:
        raise HarnessError(f"{what}: {exc}", exit_code=exc.exit_code) from None


def _setting(args: argparse.Namespace, settings: dict[str, Any], key: str, kind: type,
             default: Any, where: str) -> Any:
    value = getattr(args, key)
    if value is not None:
        return value
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            kind is int and not float(value).is_integer()):
        raise HarnessError(f"{where}: '{key}' must be a {kind.__name__}, got {value!r}")
    return kind(value)


def execute(args: argparse.Namespace) -> int:
    pyproject = None if args.no_defaults else find_pyproject(Path.cwd())
    settings = load_config(pyproject, what="pyproject") if pyproject is not None else {}
    where = f"{pyproject} [tool.stageflow-stress]"
    alpha = _setting(args, settings, "alpha", float, DEFAULT_ALPHA, where)
    min_repeats = _setting(args, settings, "min_repeats", int, DEFAULT_MIN_REPEATS, where)
    baseline_path: Path | None = args.baseline
    if baseline_path is None and pyproject is not None:
        default = settings.get("baseline")
        if isinstance(default, str) and default:
            baseline_path = pyproject.parent / default
    if baseline_path is None:
        raise HarnessError(
            "gate needs --baseline FILE (or baseline = \"...\" in [tool.stageflow-stress])"
        )
    thresholds = load_thresholds(args.threshold, config=args.config, pyproject=pyproject)
    results = _load(args.results, "results")
    baseline = _load(baseline_path, "baseline")
    try:
        outcome = evaluate(
            results, baseline, thresholds,
            scenarios=args.scenario or None, check_status=not args.no_status,
            alpha=alpha, min_repeats=min_repeats,
        )
    except HarnessError as exc:
        if str(exc).startswith(("the baseline", "the results")):
            raise HarnessError(f"{baseline_path} vs {args.results}: {exc}") from None
        raise
    header = (
        f"results `{args.results}` (run {results['run_id']}, {_target(results)}) against "
        f"baseline `{baseline_path}` (run {baseline['run_id']}, {_target(baseline)})"
    )
    warnings = _warnings(results, baseline)
    if args.json:
        payload = orjson.dumps(_as_json(outcome, warnings), option=orjson.OPT_INDENT_2)
        sys.stdout.buffer.write(payload + b"\n")
        sys.stdout.flush()
    else:
        _print_table(outcome, header, warnings)
    if args.junit is not None:
        write_junit(args.junit, "stageflow-stress gate", junit_cases(outcome))
    if args.html is not None:
        _write_html(args, baseline_path)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        try:
            with open(summary_path, "a", encoding="utf-8") as fh:
                fh.write(gate_markdown(outcome, header, report=args.html and str(args.html)))
        except OSError as exc:
            raise HarnessError(f"cannot append to $GITHUB_STEP_SUMMARY {summary_path}: "
                               f"{exc.strerror or exc}") from exc
    return outcome.exit_code


def _write_html(args: argparse.Namespace, baseline_path: Path) -> None:
    """The HTML report of the results, the baseline overlaid: the picture of a regression."""
    from harness.commands.report import generate
    from harness.jsonio import write_text_atomic

    text = generate(args.results, args.ledger_dir, html=True, baseline=baseline_path,
                    use_compare=False)
    write_text_atomic(args.html, text)


def _target(doc: dict[str, Any]) -> str:
    target = doc.get("target") or {}
    return f"{target.get('name')} {target.get('version')}"


def _warnings(results: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    out = []
    if (results.get("target") or {}).get("name") != (baseline.get("target") or {}).get("name"):
        out.append(f"the baseline tested {_target(baseline)}, the results {_target(results)}")
    for key in ("suite", "quick"):
        if key in results and key in baseline and results[key] != baseline[key]:
            out.append(f"{key} differs: baseline {baseline[key]!r}, results {results[key]!r}; "
                       "relative checks compare different parameters")
    speed = _speed(results, baseline)
    if speed is not None and not 1 / SPEED_WARNING <= speed <= SPEED_WARNING:
        out.append(f"this run's machine moved the reference asyncio.Queue at x{speed:.2g} of "
                   "the baseline's: latency and service time are compared raw, so they "
                   "compare the machines too (re-record the baseline where CI runs, unless "
                   "this is a passing load)")
    return out


SPEED_WARNING = 1.5
"""The gate warns when the two runs' reference queues differ by more than this factor."""


def _speed(results: dict[str, Any], baseline: dict[str, Any]) -> float | None:
    """The results' reference items/s over the baseline's, when both recorded one."""
    ours, theirs = ((doc.get("reference") or {}).get("asyncio_queue_items_per_s")
                    for doc in (results, baseline))
    if not isinstance(ours, (int, float)) or not isinstance(theirs, (int, float)) \
            or ours <= 0 or theirs <= 0:
        return None
    return float(ours) / float(theirs)


def _as_json(outcome: GateOutcome, warnings: list[str]) -> dict[str, Any]:
    return {
        "verdict": outcome.verdict,
        "exit_code": outcome.exit_code,
        "warnings": warnings,
        "checks": [
            {
                "expression": c.expression, "metric": c.metric, "scenario": c.scenario,
                "baseline": c.baseline, "current": c.current, "limit": c.limit,
                "verdict": c.verdict, "note": c.note, "source": c.source,
                **({"effect": c.comparison.effect, "interval": [c.comparison.low,
                                                                c.comparison.high],
                    "p": c.comparison.p, "test": c.comparison.test}
                   if c.comparison is not None else {}),
            }
            for c in outcome.checks
        ],
    }


def _print_table(outcome: GateOutcome, header: str, warnings: list[str]) -> None:
    console = Console(highlight=False)
    if not console.is_terminal:  # CI logs: do not squeeze the table into 80 columns
        console = Console(highlight=False, width=200)
    table = Table(title=f"stageflow-stress gate: {outcome.verdict}", title_justify="left")
    for column, justify in (("Check", "left"), ("Scenario", "left"), ("Baseline", "right"),
                            ("Current", "right"), ("Limit", "left"),
                            ("Effect [95% interval]", "left"), ("p", "right"),
                            ("Verdict", "left"), ("Note", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in outcome.checks:
        style = _STYLES.get(c.verdict, "dim")
        table.add_row(c.expression, c.scenario, c.baseline_text(), c.current_text(), c.limit,
                      c.effect_text, c.p_text, f"[{style}]{c.verdict}[/]", c.note)
    console.print(header.replace("`", ""), markup=False)
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(table)
    counts = {v: sum(c.verdict == v for c in outcome.checks) for v in (PASS, BREACH, INVALID)}
    console.print(f"{len(outcome.checks)} checks: {counts[PASS]} pass, {counts[BREACH]} breach, "
                  f"{counts[INVALID]} invalid -> exit {outcome.exit_code}", markup=False)
