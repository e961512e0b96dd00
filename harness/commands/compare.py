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

from rich.console import Console
from rich.table import Table

from harness.commands import _options as opt
from harness.compare import parse_targets, run_compare
from harness.errors import EXIT_FAIL, EXIT_OK
from harness.jsonio import dumps, write_json_atomic
from harness.results import validate_results

__all__ = ["COMPARE_LATEST", "configure", "execute", "render_table"]

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


def render_table(compare: dict[str, Any]) -> Table:
    """Scenario rows; per target: status, throughput, P50/P99, lost, dropped, findings."""
    names = [t["name"] for t in compare["targets"]]
    table = Table(title=f"compare {' vs '.join(names)} · suite {compare['suite']} · "
                        f"seed {compare['seed']}")
    table.add_column("scenario")
    for name in names:
        table.add_column(f"{name}\nstatus")
        table.add_column("chunks/s", justify="right")
        table.add_column("p50/p99 ms", justify="right")
        table.add_column("lost/drop", justify="right")
        table.add_column("findings", justify="right")
    for row in compare["rows"]:
        cells = [row["scenario"]]
        for name in names:
            cell = row.get(name)
            if cell is None:
                cells += ["-"] * 5
                continue
            cells += [
                f"[{_STYLE.get(cell['status'], '')}]{cell['status']}[/]",
                _num(cell["throughput_cps"], ",.0f"),
                f"{_num(cell['p50_ms'], '.2f')}/{_num(cell['p99_ms'], '.2f')}",
                f"{cell['lost']}/{cell['dropped']}",
                str(cell["findings"]),
            ]
        table.add_row(*cells)
    return table


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
        from harness.findings import record_run

        for doc in docs:
            summaries.append(f"{doc['target']['name']}: "
                             f"{record_run(doc, ledger_dir=ledger_dir).describe()}")
    compare = docs[0]["compare"]
    if args.json:
        sys.stdout.buffer.write(dumps({"compare": compare}))
        sys.stdout.flush()
    else:
        out = Console()
        if not out.is_terminal:
            out.width = max(out.width, 160)
        out.print(render_table(compare))
        for line in summaries:
            out.print(line, markup=False, highlight=False)
        out.print(f"results: {results_dir / COMPARE_LATEST}", markup=False, highlight=False)
    reference = docs[0]["scenarios"]
    return EXIT_FAIL if any(s["status"] in ("fail", "error", "timeout") for s in reference) \
        else EXIT_OK
