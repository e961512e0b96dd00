"""``stageflow-stress compare``: run one suite on several targets and show them side by side.

Each target's run is saved as ``results/<run-id>.json`` (a normal results document); the
first target's document also carries the ``compare`` section and is written to
``results/compare-latest.json`` too, which the report renders. Findings of every run are
merged into the ledgers (unless ``--no-ledger``). Exit codes: 0 the first target (the
reference) passed every scenario, 1 it did not, 2 bad input.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from harness.commands import _options as opt
from harness.compare import parse_targets, run_compare
from harness.errors import EXIT_FAIL, EXIT_OK
from harness.jsonio import dumps, write_json_atomic
from harness.results import validate_results

__all__ = ["COMPARE_LATEST", "configure", "execute", "render_scenario", "render_summary",
           "render_tables"]

COMPARE_LATEST = "compare-latest.json"
_STYLE = {"pass": "green", "fail": "bold red", "error": "bold red", "timeout": "bold red",
          "invalid": "yellow", "skipped": "dim"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--targets", required=True, metavar="A,B[,C]",
                        help="targets to compare, comma-separated; the first is the reference "
                             "(e.g. stageflow_core,stageflow)")
    parser.add_argument("--suite", default="adversarial", metavar="NAME",
                        help="the suite run on every target (default: adversarial)")
    opt.add_quick(parser)
    opt.add_seed(parser, default=0, help="run seed shared by every target (default 0)")
    opt.add_timeout(parser)
    opt.add_results_dir(parser)
    opt.add_ledger_options(parser)
    opt.add_json(parser, help="print the compare section as JSON on stdout")


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) else "-"


def render_summary(compare: dict[str, Any]) -> Table:
    """One row per target: version and how its scenarios ended, bug findings in all."""
    table = Table(title=f"compare · suite {compare['suite']} · seed {compare['seed']}"
                        f"{' · quick' if compare.get('quick') else ''}",
                  box=box.SIMPLE_HEAD, title_justify="left")
    for name, justify in (("target", "left"), ("version", "left"), ("pass", "right"),
                          ("fail", "right"), ("invalid", "right"), ("skipped", "right"),
                          ("bugs", "right")):
        table.add_column(name, justify=justify, no_wrap=name in ("target", "version"))
    for target in compare["targets"]:
        name = target["name"]
        cells = [row.get(name) for row in compare["rows"] if row.get(name) is not None]
        ended = [cell["status"] for cell in cells]
        failed = sum(status in ("fail", "error", "timeout") for status in ended)
        table.add_row(name, str(target["version"]), str(ended.count("pass")),
                      f"[bold red]{failed}[/]" if failed else "0", str(ended.count("invalid")),
                      str(ended.count("skipped")), str(sum(c["findings"] for c in cells)))
    return table


def render_scenario(compare: dict[str, Any], row: dict[str, Any]) -> Table:
    """One scenario, one row per target (fits 80 columns whatever the number of targets):
    status, delivered chunks/s, P50/P99 latency, lost/dropped chunks, bug findings; what a
    skipped target lacked goes under the table."""
    table = Table(title=row["scenario"], box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("target", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("chunks/s", justify="right")
    table.add_column("p50/p99 ms", justify="right")
    table.add_column("lost/drop", justify="right")
    table.add_column("bugs", justify="right")
    lacks: dict[str, list[str]] = {}
    for target in compare["targets"]:
        name = target["name"]
        cell = row.get(name)
        if cell is None:
            table.add_row(name, "-", "-", "-", "-", "-")
            continue
        status = cell["status"]
        if status == "skipped":
            reason = ", ".join(str(c) for c in cell.get("skipped") or []) or "skipped"
            lacks.setdefault(reason, []).append(name)
            table.add_row(name, f"[dim]{status}[/]", "", "", "", "")
            continue
        table.add_row(
            name, f"[{_STYLE.get(status, '')}]{status}[/]",
            _num(cell["throughput_cps"], ",.0f"),
            f"{_num(cell['p50_ms'], '.2f')}/{_num(cell['p99_ms'], '.2f')}",
            f"{cell['lost']}/{cell['dropped']}", str(cell["findings"]))
    if lacks:
        table.caption = "; ".join(f"{', '.join(names)} lack {reason}"
                                  for reason, names in lacks.items())
        table.caption_justify = "left"
    return table


def render_tables(compare: dict[str, Any]) -> list[Table]:
    """The summary, then one table per scenario (docs/running.md, "compare")."""
    return [render_summary(compare), *(render_scenario(compare, row)
                                       for row in compare["rows"])]


def execute(args: argparse.Namespace) -> int:
    specs = parse_targets(args.targets)
    opt.check_timeout(args.timeout)
    opt.check_seed(args.seed)
    ledger_dir = opt.check_ledger_dir(args)
    results_dir = Path(args.results_dir)
    opt.check_writable(results_dir, "results directory")
    command = shlex.join(["stageflow-stress", "compare", "--targets", args.targets,
                          "--suite", args.suite, "--seed", str(args.seed),
                          *(["--quick"] if args.quick else [])])
    err = Console(stderr=True)
    with err.status("comparing...") as status:
        docs = run_compare(specs, suite=args.suite, quick=args.quick, seed=args.seed,
                           timeout_s=args.timeout, command=command,
                           on_start=lambda t, s: status.update(f"{t}: {s}"))
    for doc in docs:
        validate_results(doc, source=f"compare run {doc['run_id']}")
        write_json_atomic(results_dir / f"{doc['run_id']}.json", doc)
    write_json_atomic(results_dir / COMPARE_LATEST, docs[0])
    summaries = []
    if ledger_dir is not None:
        from harness.commands.run import ledger_line
        from harness.findings import record_run

        for doc in docs:
            summaries.append(f"{doc['target']['name']}: "
                             f"{ledger_line(record_run(doc, ledger_dir=ledger_dir), ledger_dir)}")
    compare = docs[0]["compare"]
    if args.json:
        sys.stdout.buffer.write(dumps({"compare": compare}))
        sys.stdout.flush()
    else:
        out = Console()
        for table in render_tables(compare):
            out.print(table)
            out.print()
        for line in summaries:
            out.print(line, markup=False, highlight=False)
        out.print(f"results: {results_dir / COMPARE_LATEST} (and one document per target "
                  f"in {results_dir})", markup=False, highlight=False)
    reference = docs[0]["scenarios"]
    return EXIT_FAIL if any(s["status"] in ("fail", "error", "timeout") for s in reference) \
        else EXIT_OK
