"""``stageflow-stress fuzz``: property-based fuzzing of a target's queue, buffer and objects.

Each distinct defect becomes one bug in ``bugs.json`` with its shrunk reproduction (a
script that fails on the fuzzed target and passes on stageflow_core, checked in a
subprocess before it is recorded); capabilities the target lacks become improvements; the
same defect found again updates its entry. The session's report is written to
``<results-dir>/fuzz-<run-id>.json`` and ``fuzz-latest.json``, and everything hypothesis
stores on disk (its ``.hypothesis`` directory: example database location, caches) goes to
``<results-dir>/hypothesis``, never the current directory. Exit codes: 0 nothing found,
1 bugs found, 2 bad input (unknown target or machine, corrupt ledger).
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.commands import _options as opt
from harness.commands.run import ledger_line
from harness.errors import EXIT_FAIL, EXIT_OK, HarnessError
from harness.fuzz import MACHINES, FuzzConfig, FuzzReport, run_fuzz, to_findings
from harness.jsonio import dumps, write_json_atomic
from harness.results import new_run_id
from harness.targets import load_target

__all__ = ["FUZZ_LATEST", "configure", "execute", "hypothesis_home"]

FUZZ_LATEST = "fuzz-latest.json"


@contextlib.contextmanager
def hypothesis_home(directory: Path) -> Iterator[None]:
    """Hypothesis stores what it writes (``.hypothesis``: the example database's location,
    its caches) under ``directory`` while the block runs; the previous home comes back."""
    from hypothesis.configuration import set_hypothesis_home_dir, storage_directory

    previous = storage_directory(intent_to_write=False).home_directory
    set_hypothesis_home_dir(directory)
    try:
        yield
    finally:
        set_hypothesis_home_dir(previous)


def configure(parser: argparse.ArgumentParser) -> None:
    opt.add_target(parser)
    parser.add_argument("--max-examples", type=int, default=300, metavar="N",
                        help="hypothesis examples per run of each state machine (default 300)")
    opt.add_seed(parser, default=0,
                 help="fuzz seed (default 0); the same seed replays the same session")
    parser.add_argument("--machine", action="append", default=[], choices=sorted(MACHINES),
                        help="fuzz only this state machine (repeatable; default: all)")
    parser.add_argument("--budget", type=float, default=100.0, metavar="S",
                        help="wall-time budget of the session in seconds (default 100)")
    parser.add_argument("--no-verify", action="store_true",
                        help="record reproductions without running them in a subprocess")
    opt.add_results_dir(parser)
    opt.add_ledger_options(parser)
    opt.add_json(parser, help="print the session report as JSON on stdout")


def _check(args: argparse.Namespace) -> Path | None:
    """Every input checked before fuzzing; returns the ledger directory (None: none)."""
    opt.check_seed(args.seed)
    if args.max_examples < 1:
        raise HarnessError(f"--max-examples must be >= 1, got {args.max_examples}")
    if not args.budget > 0:
        raise HarnessError(f"--budget must be > 0 seconds, got {args.budget}")
    opt.check_writable(Path(args.results_dir), "results directory")
    return opt.check_ledger_dir(args)  # a corrupt ledger stops us before fuzzing


def _table(report: FuzzReport, ids: dict[str, str]) -> Table:
    table = Table(title=f"fuzz {report.target['name']} {report.target['version']}: "
                        f"{len(report.violations)} defects "
                        f"(seed {report.config.seed}, {report.config.max_examples} examples)")
    for column in ("id", "component", "operation", "property", "reproduction"):
        table.add_column(column)
    for violation, finding_id in zip(report.violations, ids.get("bugs", []), strict=False):
        verified = violation.verified
        if not verified:
            state = "not run"
        elif verified.get("confirmed"):
            state = "[green]fails here, passes on reference[/]"
        else:
            state = "[yellow]" + ", ".join(
                f"{role}: {result.get('result')}" for role, result in verified.items()
                if isinstance(result, dict)) + "[/]"
        table.add_row(finding_id, violation.component, violation.operation, violation.prop,
                      state)
    return table


def execute(args: argparse.Namespace) -> int:
    ledger_dir = _check(args)
    target = load_target(args.target)
    config = FuzzConfig(max_examples=args.max_examples, seed=args.seed,
                        machines=tuple(args.machine) or tuple(MACHINES),
                        budget_s=args.budget, verify=not args.no_verify)
    err = Console(stderr=True)
    command = shlex.join(["stageflow-stress", "fuzz", "--target", target.name, "--seed",
                          str(args.seed), "--max-examples", str(args.max_examples)])
    results_dir = Path(args.results_dir)
    hypothesis_dir = results_dir / "hypothesis"
    with err.status(f"fuzzing {target.name}...") as status, hypothesis_home(hypothesis_dir):
        report = run_fuzz(target, config, command="stageflow-stress fuzz",
                          progress=lambda text: status.update(f"fuzz {target.name}: {text}"))
    run_id = new_run_id()
    merged: dict[str, object] = {}
    ids: dict[str, list[str]] = {"bugs": [], "improvements": []}
    findings = to_findings(report, run_id=run_id)
    if ledger_dir is not None:
        from harness.findings import merge_findings

        summary = merge_findings(
            findings, ledger_dir=ledger_dir, run_id=run_id, target=report.target,
            checks_run=report.checks_run(), now=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            not_filed=report.not_filed())
        for finding in findings:
            key = "bugs" if finding.kind == "bug" else "improvements"
            ids[key].append(summary.ids.get(finding.fingerprint, "-"))
        merged = {"added": summary.added, "updated": summary.updated,
                  "reopened": summary.reopened, "fixed": summary.fixed,
                  "manual": summary.manual, "summary": summary.describe()}
    else:
        ids["bugs"] = ["-"] * len(report.violations)
    doc = {"fuzz": {**report.as_dict(), "run_id": run_id, "command": command,
                    "ledger": merged or None}}
    report_path = results_dir / f"fuzz-{run_id}.json"
    write_json_atomic(report_path, doc)
    write_json_atomic(results_dir / FUZZ_LATEST, doc)
    if args.json:
        sys.stdout.buffer.write(dumps(doc))
        sys.stdout.flush()
    else:
        out = Console()
        out.print(_table(report, ids))
        if report.missing_capabilities:
            out.print("missing capabilities (improvements): "
                      + ", ".join(report.missing_capabilities))
        for note in report.notes:
            out.print(f"[dim]note: {note}[/]")
        if ledger_dir is not None:
            out.print(ledger_line(summary, ledger_dir), markup=False, highlight=False)
        out.print(f"{report.duration_s:.1f} s; rounds per machine: "
                  + ", ".join(f"{k}={v}" for k, v in report.rounds.items()))
        out.print(f"results: {report_path} (and {results_dir / FUZZ_LATEST}) · hypothesis: "
                  f"{hypothesis_dir}", markup=False, highlight=False)
    return EXIT_FAIL if report.violations else EXIT_OK
