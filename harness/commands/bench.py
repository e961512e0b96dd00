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
    parser.add_argument("--gate-power", action="store_true",
                        help="measure the gate instead: false alarms in A/A pairs and "
                             "detections of injected regressions (minutes; docs/gate.md)")
    parser.add_argument("--power-runs", type=int, default=20, metavar="N",
                        help="A/A pairs and runs per regression kind (default 20)")
    parser.add_argument("--power-kinds", metavar="K,...",
                        help="measure only these regression kinds (default: all of "
                             "put+20us, get~0.3ms, read:copy, p99x2, capacity-20%%)")


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
    if args.gate_power:
        return _gate_power(args)
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
        missed = _confirm_missed(missed, args, peer, err)
    if args.strict and missed:
        names = ", ".join(g["name"] for g in missed)
        err.print(f"stageflow-stress bench: goals not met: {names}")
        return EXIT_BREACH
    return EXIT_OK


def _confirm_missed(missed: list[dict[str, Any]], args: argparse.Namespace, peer: str | None,
                    err: Console) -> list[dict[str, Any]]:
    """The goals still missed when their benchmarks are measured once more.

    A shared machine can slow one benchmark's rounds by a third for a minute; a regression
    is missed twice. ``--strict`` fails only on goals missed in both measurements (pyperf's
    answer to a noisy run is the same: measure again, do not widen the limit).
    """
    again = sorted({g["benchmark"] for g in missed})
    err.print(f"bench: {len(missed)} goal(s) missed; measuring {', '.join(again)} again "
              "to tell a regression from a noisy minute")
    doc = run_bench(only=again, quick=args.quick, target=args.target, peer=peer)
    second = {g["name"]: g for g in doc["bench"]["goals"]}
    still = []
    for goal in missed:
        retry = second.get(goal["name"])
        then = "not measured" if retry is None else _measured(retry)
        err.print(f"  {goal['name']}: {_measured(goal)}, then {then} (goal {goal['goal']})")
        if retry is None or retry["met"] is not True:
            still.append(goal)
    return still


def _measured(goal: dict[str, Any]) -> str:
    if goal["ratio"] is not None:
        return f"{goal['ratio']:.2f}x"
    return _fmt(goal["ours"], goal["unit"])



# --- bench --gate-power ---------------------------------------------------------------------

POWER_GOALS = {"false_alarms": 0, "detection_rate": 0.95}
"""``--strict`` with ``--gate-power``: no false alarm, and each kind caught in >= 95 % of runs."""


def render_power(doc: dict[str, Any]) -> Table:
    """False alarms and detections, one row per kind, with what caught it."""
    body = doc["gate_power"]
    table = Table(title=f"gate power ({body['iterations']} iterations, {body['repeat']} "
                        f"repeats per run, alpha {body['alpha']:g}, {body['elapsed_s']:.0f} s)")
    for column in ("pair", "injection", "runs", "breached", "rate", "status only", "invalid",
                   "caught by"):
        table.add_column(column, justify="left" if column in ("pair", "injection", "caught by")
                         else "right")

    def row(label: str, inject: str, entry: dict[str, Any]) -> None:
        runs = entry.get("runs", 0)
        rate = f"{entry['breached'] / runs:.0%}" if runs else "-"
        fired = entry.get("checks_fired") or {}
        top = ", ".join(f"{k} ({v})" for k, v in list(fired.items())[:2]) or "-"
        table.add_row(label, inject, str(runs), str(entry.get("breached", 0)), rate,
                      str(entry.get("status_only", 0)), str(entry.get("invalid", 0)), top)

    row("A/A (false alarms)", "-", body["aa"])
    for kind in body["kinds"]:
        entry = body["detections"][kind["key"]]
        used = sorted({g["inject"] for g in entry["gates"] if g.get("inject")})
        shown = kind["inject"] if len(used) <= 1 else f"{used[0]} .. {used[-1]}"
        row(kind["key"], used[0] if len(used) == 1 else shown, entry)
    return table


def power_missed(doc: dict[str, Any]) -> list[str]:
    """What misses :data:`POWER_GOALS` (empty when every goal is met)."""
    body = doc["gate_power"]
    missed = []
    if body["aa"].get("breached", 0) > POWER_GOALS["false_alarms"]:
        missed.append(f"{body['aa']['breached']} false alarms in {body['aa']['runs']} A/A pairs")
    for key, entry in body["detections"].items():
        runs = entry.get("runs", 0)
        if not runs or entry["breached"] / runs < POWER_GOALS["detection_rate"]:
            missed.append(f"{key} caught in {entry.get('breached', 0)} of {runs}")
    return missed


def _gate_power(args: argparse.Namespace) -> int:
    from harness.errors import HarnessError
    from harness.gate import (
        DEFAULT_ALPHA,
        DEFAULT_MIN_REPEATS,
        find_pyproject,
        load_config,
        load_thresholds,
    )
    from harness.power import KINDS, run_power

    pyproject = find_pyproject(Path.cwd())
    if pyproject is None:
        raise HarnessError("bench --gate-power measures the gate with the thresholds of "
                           "[tool.stageflow-stress] in pyproject.toml; none was found")
    kinds = list(KINDS)
    if args.power_kinds is not None:
        wanted = [k.strip() for k in args.power_kinds.split(",") if k.strip()]
        known = {kind.key: kind for kind in KINDS}
        unknown = [k for k in wanted if k not in known]
        if unknown or not wanted:
            raise HarnessError(f"--power-kinds: unknown kind {', '.join(unknown) or '(none)'}"
                               f"; the kinds are {', '.join(known)}")
        kinds = [known[k] for k in dict.fromkeys(wanted)]
    settings = load_config(pyproject, what="pyproject")
    thresholds = load_thresholds(pyproject=pyproject)
    err = Console(stderr=True)

    def checkpoint(doc: dict[str, Any]) -> None:
        if args.out is not None:
            write_json_atomic(args.out, doc)

    if not err.is_terminal:
        err.width = max(err.width, 160)
    with err.status("measuring the gate...") as status:
        doc = run_power(
            runs=args.power_runs, thresholds=thresholds,
            alpha=float(settings.get("alpha", DEFAULT_ALPHA)),
            min_repeats=int(settings.get("min_repeats", DEFAULT_MIN_REPEATS)),
            target=args.target, quick=True, kinds=kinds,
            progress=lambda msg: status.update(f"gate power: {msg}"), checkpoint=checkpoint)
    checkpoint(doc)
    if args.json:
        sys.stdout.buffer.write(dumps(doc))
        sys.stdout.flush()
    else:
        out = Console()
        if not out.is_terminal:  # logs: room for the table
            out.width = max(out.width, 160)
        out.print(render_power(doc))
        for kind in doc["gate_power"]["kinds"]:
            if kind["sized"]:
                out.print(f"[dim]{kind['key']}: {kind['inject']}: {kind['sized']}[/]")
    missed = power_missed(doc)
    if args.strict and missed:
        err.print(f"stageflow-stress bench --gate-power: goals not met: {'; '.join(missed)}")
        return EXIT_BREACH
    return EXIT_OK
