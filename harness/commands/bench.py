"""``stageflow-stress bench``: speed and cost ratios, measured side by side in one process."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.bench import BENCHMARKS, run_bench
from harness.errors import EXIT_BREACH, EXIT_OK
from harness.jsonio import dumps, write_json_atomic

__all__ = ["configure", "execute", "render_table"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print the results as JSON on stdout instead of a table")
    parser.add_argument("--quick", action="store_true",
                        help="short measurements (for tests and smoke checks; noisy)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        choices=BENCHMARKS,
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="also write the JSON results to FILE (atomically)")
    parser.add_argument("--target", default="stageflow_core",
                        help="the implementation measured as 'ours' (default: stageflow_core)")
    parser.add_argument("--peer", default="stageflow",
                        help="the peer compared against, or 'none' (default: stageflow)")
    parser.add_argument("--strict", action="store_true",
                        help=f"exit {EXIT_BREACH} when a measured goal is not met")


def _fmt(value: float | None, unit: str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "items/s":
        return f"{value:,.0f}/s"
    if unit == "x real time":
        return f"{value:,.0f}x rt"
    if unit == "ns/sample":
        return f"{value:,.0f} ns"
    return f"{value:,.3g}"


def render_table(doc: dict[str, Any]) -> Table:
    """The goals table: benchmark, ours, reference, ratio, goal, met?"""
    bench = doc["bench"]
    units = {m["key"]: m["unit"] for m in bench["measurements"]}
    table = Table(title=f"stageflow-stress bench ({bench['targets']['ours']['name']}, "
                        f"{bench['rounds']} rounds, medians)")
    for column in ("benchmark", "ours", "reference", "ratio", "goal", "met?"):
        table.add_column(column, justify="left" if column == "benchmark" else "right")
    for goal in bench["goals"]:
        met = goal["met"]
        mark = ("[green]yes[/]" if met else "[red]no[/]") if met is not None else \
            f"[dim]{goal.get('note', 'n/a')}[/]"
        ratio = "-" if goal["ratio"] is None else f"{goal['ratio']:.2f}x"
        table.add_row(goal["name"], _fmt(goal["ours"], goal["unit"]),
                      _fmt(goal["reference"], units.get(goal["reference_key"] or "")),
                      ratio, goal["goal"], mark)
    return table


def _measurements_table(doc: dict[str, Any]) -> Table:
    table = Table(title="all measurements (median, min-max over rounds)")
    for column in ("contender", "median", "range", "work per round"):
        table.add_column(column, justify="left" if column == "contender" else "right")
    for m in doc["bench"]["measurements"]:
        table.add_row(m["label"], _fmt(m["median"], m["unit"]),
                      f"{_fmt(m['min'], m['unit'])} - {_fmt(m['max'], m['unit'])}",
                      f"{m['n']:,}")
    return table


def execute(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    peer = None if args.peer.lower() == "none" else args.peer
    with err.status("benchmarking...") as status:
        doc = run_bench(only=args.only, quick=args.quick, target=args.target, peer=peer,
                        progress=lambda name: status.update(f"benchmarking {name}..."))
    if args.out is not None:
        write_json_atomic(args.out, doc)
    if args.json:
        sys.stdout.buffer.write(dumps(doc))
        sys.stdout.flush()
    else:
        out = Console()
        out.print(_measurements_table(doc))
        out.print(render_table(doc))
        for note in doc["bench"]["notes"]:
            out.print(f"[yellow]note:[/] {note}")
    missed = [g for g in doc["bench"]["goals"] if g["met"] is False]
    if args.strict and missed:
        names = ", ".join(g["name"] for g in missed)
        err.print(f"stageflow-stress bench: goals not met: {names}")
        return EXIT_BREACH
    return EXIT_OK

