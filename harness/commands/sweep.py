"""``stageflow-stress sweep``: scenario parameters x targets x seeds, each cell a normal run.

The sweep comes from ``--file SWEEP.toml`` and/or the command line (``SCENARIO`` names,
``--grid KEY=VALUES``, ``--targets``, ``--seeds``, ``--random N``); the command line wins
where both say something. Everything is checked and expanded into cells before the first
one runs (bad input: one line, exit 2, nothing run). The cells run on the chosen executor
(``--executor pool`` by default, ``serial``, or ``--ray [ADDRESS]``) with live progress
(cells done / total, ETA), then the document is written to ``results/sweep-<run-id>.json``
and ``results/sweep-latest.json`` (never ``latest.json``, which is the last ``run``), and
the table shows the sweep — a matrix of ``--metric`` over two swept parameters, else one
row per pooled cell — and names the best pooled cell under ``--slo``.

Exit codes: 0 every cell passed or was skipped; 1 a cell failed, crashed or timed out; 3 none
failed but one was invalid; 2 bad input. Whether a cell meets the SLO is the answer the
sweep gives, not a failure: it does not change the exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.commands import _options as opt
from harness.declared import fails_target
from harness.errors import HarnessError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["SWEEP_LATEST", "configure", "execute", "plan_sweep", "render_tables"]

SWEEP_LATEST = "sweep-latest.json"
_STYLE = {"pass": "green", "fail": "bold red", "error": "bold red", "timeout": "bold red",
          "invalid": "yellow", "skipped": "dim"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="SCENARIO",
                        help="scenarios to sweep (default: the file's scenarios)")
    parser.add_argument("--file", type=Path, metavar="SWEEP.toml",
                        help="sweep file (see examples/sweep.toml and docs/sweeps.md)")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=VALUES",
                        help="a swept parameter: KEY=1,2,3 or KEY=[...] (JSON) or "
                             "KEY=LO..HI/STEPS or KEY=log:LO..HI/STEPS; repeatable")
    parser.add_argument("--random", type=int, metavar="N",
                        help="draw N parameter points (lists: one of their values; ranges "
                             "LO..HI: uniform) instead of the full grid")
    parser.add_argument("--random-seed", type=int, metavar="N",
                        help="seed of the --random draw (default 0)")
    parser.add_argument("--targets", metavar="A[,B...]",
                        help="targets, comma-separated (default stageflow_core)")
    parser.add_argument("--seeds", metavar="N,N|LO..HI",
                        help="run seeds, each cell runs once per seed (default 0)")
    parser.add_argument("--scenarios", action="append", default=[], metavar="MODULE",
                        dest="modules", help="import MODULE to register more scenarios")
    opt.add_quick(parser)
    opt.add_timeout(parser)
    parser.add_argument("--executor", choices=("pool", "serial"), default=None,
                        help="pool (default): one process per cell, --workers at a time; "
                             "serial: every cell in this process")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="cells at a time (default: one per core; Ray: the cluster's CPUs)")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run the cells on Ray: a local Ray started for the sweep, or the "
                             "cluster whose head is at ADDRESS (HOST:PORT or auto)")
    parser.add_argument("--slo", action="append", default=[], metavar="THRESHOLD",
                        help="a pooled cell meets the SLO when every THRESHOLD holds "
                             "(gate grammar, e.g. 'latency.p99_ms < 20'); repeatable")
    parser.add_argument("--objective", metavar="min:METRIC|max:METRIC",
                        help="how the best cell is chosen among those meeting the SLO "
                             "(default: the first SLO's metric, most headroom)")
    parser.add_argument("--metric", metavar="METRIC",
                        help="the figure the matrix shows (default: the objective's metric, "
                             "else latency.p99_ms)")
    opt.add_results_dir(parser)
    opt.add_json(parser, help="print the sweep document on stdout (table goes to stderr)")


def plan_sweep(args: argparse.Namespace) -> tuple[Any, list[Any], list[Any]]:
    """Check every input; returns ``(spec, cells, scenario specs)``.

    :raises HarnessError: on the first bad input (exit 2), before anything runs.
    """
    import scenarios  # noqa: F401  (registers the built-in scenarios)
    from harness.runner import configured_scenario_modules, import_scenario_modules
    from harness.sweep.spec import (
        SweepSpec,
        load_sweep_file,
        parse_axis,
        parse_seeds,
        plan_cells,
        unique_names,
    )
    from scenarios.registry import UnknownScenario, get_scenario

    spec = load_sweep_file(args.file) if args.file is not None else SweepSpec()
    if args.names:
        spec.scenarios = list(args.names)
    if args.targets is not None:
        spec.targets = [t.strip() for t in args.targets.split(",")]
        if any(not t for t in spec.targets):
            raise HarnessError(f"--targets {args.targets!r}: empty target name")
    if args.seeds is not None:
        spec.seeds = parse_seeds(args.seeds)
    if args.quick:
        spec.quick = True
    if args.timeout is not None:
        opt.check_timeout(args.timeout)
        spec.timeout_s = args.timeout
    spec.modules = unique_names([*configured_scenario_modules(), *spec.modules, *args.modules])
    for text in args.grid:
        spec.set_axis(parse_axis(text))
    if args.random is not None:
        if args.random < 1:
            raise HarnessError(f"--random must be >= 1, got {args.random}")
        spec.random_points = args.random
    if args.random_seed is not None:
        opt.check_seed(args.random_seed)
        spec.random_seed = args.random_seed
    if len(set(spec.targets)) != len(spec.targets):
        raise HarnessError(f"{spec.source}: a target is named twice in {spec.targets}")
    if len(set(spec.scenarios)) != len(spec.scenarios):
        raise HarnessError(f"{spec.source}: a scenario is named twice in {spec.scenarios}")
    import_scenario_modules(spec.modules)
    try:
        specs = [get_scenario(name) for name in spec.scenarios]
    except UnknownScenario as exc:
        raise HarnessError(str(exc)) from None
    cells = plan_cells(spec, specs)
    return spec, cells, specs


def _executor(args: argparse.Namespace) -> Any:
    from harness.executors import make_executor

    if args.ray is not None:
        if args.executor is not None:
            raise HarnessError(f"--ray and --executor {args.executor}: choose one")
        return make_executor("ray", workers=args.workers, address=args.ray or None)
    return make_executor(args.executor or "pool", workers=args.workers)


# --- output -----------------------------------------------------------------------------------

def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def _mark(group: Mapping[str, Any], best: int | None) -> str:
    met = group["slo"]["met"]
    if group["index"] == best:
        return "[bold green]★[/]"
    if met is True:
        return "[green]✓[/]"
    if met is False:
        return "[red]✗[/]"
    return ""


def render_tables(doc: Mapping[str, Any], metric: str) -> list[Table]:
    """One table per (target, scenario): a matrix of ``metric`` when exactly two swept
    parameters vary, else a row per pooled cell. ★ best, ✓ meets the SLO, ✗ does not."""
    from rich.table import Table

    from harness.sweep.document import describe_params, metric_value

    sweep = doc["sweep"]
    best = sweep["slo"]["best"]
    seeds = len(sweep["spec"]["seeds"])
    by_pair: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for group in sweep["groups"]:
        by_pair.setdefault((group["target"], group["scenario"]), []).append(group)
    tables = []
    for (target, scenario), groups in by_pair.items():
        varying = [a for a in sweep["axes"] if a["name"] in groups[0]["params"]
                   and len({repr(g["params"].get(a["name"])) for g in groups}) > 1]
        title = (f"sweep {scenario} · target {target} · {metric} pooled over "
                 f"{seeds} seed{'s' if seeds != 1 else ''}")
        if len(varying) == 2 and len(groups) == len(varying[0]["values"]) * len(
                varying[1]["values"]):
            rows, cols = varying
            table = Table(title=title)
            table.add_column(f"{rows['name']} \\ {cols['name']}")
            for value in cols["values"]:
                table.add_column(_fmt(value) if isinstance(value, int | float) else str(value),
                                 justify="right")
            index = {(repr(g["params"][rows["name"]]), repr(g["params"][cols["name"]])): g
                     for g in groups}
            for row in rows["values"]:
                cells = []
                for col in cols["values"]:
                    group = index.get((repr(row), repr(col)))
                    if group is None:
                        cells.append("")
                        continue
                    status = group["status"]
                    text = _fmt(metric_value(group, metric))
                    if status != "pass":
                        text += f" [{_STYLE.get(status, '')}]{status}[/]"
                    cells.append(f"{text} {_mark(group, best)}".rstrip())
                table.add_row(_fmt(row) if isinstance(row, int | float) else str(row), *cells)
            tables.append(table)
            continue
        table = Table(title=title)
        table.add_column("params")
        table.add_column("status")
        for column in ("sent", "dropped", "lost", "chunks/s", "p50 ms", "p99 ms", metric, "slo"):
            table.add_column(column, justify="right")
        for group in groups:
            metrics = group["metrics"]
            latency = metrics["latency_ms"]
            status = group["status"]
            table.add_row(
                describe_params(group["params"]), f"[{_STYLE.get(status, '')}]{status}[/]",
                str(metrics["sent"]), str(metrics["dropped"]), str(metrics["lost"]),
                f"{metrics['throughput_cps']:,.0f}",
                _fmt(latency["p50"]) if latency["count"] else "-",
                _fmt(latency["p99"]) if latency["count"] else "-",
                _fmt(metric_value(group, metric)), _mark(group, best))
        tables.append(table)
    return tables


def best_line(doc: Mapping[str, Any]) -> str | None:
    """One line naming the best pooled cell under the SLO (or saying none meets it)."""
    from harness.sweep.document import describe_params, metric_value

    slo = doc["sweep"]["slo"]
    if slo["objective"] is None:
        return None
    metric = slo["objective"]["metric"]
    under = f"under {' and '.join(slo['thresholds'])}" if slo["thresholds"] else "of passing"
    if slo["best"] is None:
        total = len(doc["sweep"]["groups"])
        return f"best {under}: none of the {total} pooled cells meets it"
    group = doc["sweep"]["groups"][slo["best"]]
    value = metric_value(group, metric)
    seeds = len(group["seeds"])
    return (f"best {under} ({slo['objective']['direction']} {metric}): {group['scenario']} "
            f"on {group['target']} with {describe_params(group['params'])} · {metric} "
            f"{_fmt(value)} over {seeds} seed{'s' if seeds != 1 else ''} · "
            f"{slo['met']} of {len(doc['sweep']['groups'])} pooled cells meet it")


def _problems(doc: Mapping[str, Any], limit: int = 10) -> list[str]:
    lines = []
    for cell, entry in zip(doc["sweep"]["cells"], doc["scenarios"], strict=True):
        if entry["status"] in ("pass", "skipped"):
            continue
        what = entry.get("error") or entry.get("invalid_reason") or "; ".join(
            f"{inv['name']}: {inv['detail']}" for inv in entry.get("invariants", ())
            if fails_target(inv))
        lines.append(f"cell {cell['index']} {entry['status']}: {what} · replay: "
                     f"{cell['reproduction']}")
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more (see the document)"]
    return lines


def print_summary(doc: Mapping[str, Any], console: Console, path: Path, metric: str) -> None:
    for table in render_tables(doc, metric):
        console.print(table)
    for line in _problems(doc):
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    line = best_line(doc)
    if line:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    counts = doc["summary"]
    sweep = doc["sweep"]
    executor = sweep["executor"]
    startup = (f" (+{executor['startup_s']:.1f} s to start {executor['kind']})"
               if executor.get("startup_s") else "")
    console.print(
        f"{len(sweep['cells'])} cells on {executor['kind']} ({executor['workers']} workers) in "
        f"{sweep['wall_s']:.1f} s{startup}: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['errors']} errors, {counts['timeouts']} timeouts, {counts['invalid']} "
        f"invalid, {counts['skipped']} skipped · results: {path}",
        markup=False, highlight=False, soft_wrap=True)


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console.width = max(console.width, 120)  # logs: room for the whole table
    return console


@contextlib.contextmanager
def _progress(console: Console, total: int) -> Iterator[Any]:
    if not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("cells"), TimeElapsedColumn(), TextColumn("ETA"),
                        TimeRemainingColumn(), console=console, transient=True)
    with progress:
        yield progress, progress.add_task("sweep", total=total)


def execute(args: argparse.Namespace) -> int:
    import orjson

    from harness.commands.run import exit_code
    from harness.jsonio import write_json_atomic
    from harness.metrics import reference_queue_throughput
    from harness.results import validate_results
    from harness.sweep.document import build_sweep_document, parse_objective, parse_slo
    from harness.targets import load_target

    slo = parse_slo(args.slo)
    objective = parse_objective(args.objective, slo)
    spec, cells, _specs = plan_sweep(args)
    targets = []
    for name in spec.targets:
        target = load_target(name)
        capabilities = getattr(target.capabilities, "as_dict", None)
        targets.append({"spec": name, "name": target.name, "version": target.version,
                        "capabilities": capabilities() if callable(capabilities) else {}})
    opt.check_writable(Path(args.results_dir), "results directory")
    executor = _executor(args)
    err = _console(stderr=True)
    out = err if args.json else _console(stderr=False)
    try:
        if hasattr(executor, "start"):
            executor.start()  # the pool's forkserver or Ray, measured apart from the cells
        reference = reference_queue_throughput()  # before the cells load the machine
        with _progress(err, len(cells)) as bar:
            done = {"n": 0}

            def on_done(cell: Any, entry: Mapping[str, Any]) -> None:
                done["n"] += 1
                if bar is not None:
                    bar[0].advance(bar[1])
                else:
                    err.print(f"{done['n']}/{len(cells)} done: cell {cell.index} "
                              f"{cell.scenario} {entry['status']} "
                              f"({float(entry['duration_ms']) / 1000:.1f} s)",
                              markup=False, highlight=False)

            began = time.perf_counter_ns()
            entries = executor.run(cells, on_done)
            wall_s = (time.perf_counter_ns() - began) / 1e9
    finally:
        executor.close()
    doc = build_sweep_document(
        spec=spec, cells=cells, entries=entries,
        command=shlex.join(["stageflow-stress", *sys.argv[1:]]),
        executor=executor.describe(), wall_s=wall_s, reference_cps=reference, slo=slo,
        objective=objective, targets=targets)
    validate_results(doc, source="sweep")
    results_dir = Path(args.results_dir)
    path = results_dir / f"sweep-{doc['run_id']}.json"
    write_json_atomic(path, doc)
    write_json_atomic(results_dir / SWEEP_LATEST, doc)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS
                                             | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        sys.stdout.flush()
    metric = args.metric or (objective.metric if objective else "latency.p99_ms")
    print_summary(doc, out, path, metric)
    return exit_code(doc)
