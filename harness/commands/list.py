"""``stageflow-stress list``: suites, scenarios, their category and the hypotheses each tests;
``list --targets``: the built-in targets with their version, parts and capabilities.

The scenario table shows each scenario's summary (the lead of its description) so that it
stays readable at 80 columns; ``list SCENARIO ...`` shows scenarios in full (description,
requirements, quick and full parameters) and ``--json`` carries everything.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from harness.errors import EXIT_OK, HarnessError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["configure", "execute", "listing", "target_listing"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="SCENARIO",
                        help="show these scenarios in full (description, parameters)")
    parser.add_argument("--suite", metavar="NAME", help="only the scenarios of this suite")
    parser.add_argument("--scenarios", action="append", default=[], metavar="MODULE",
                        dest="modules", help="import MODULE to register more scenarios")
    parser.add_argument("--params", action="store_true",
                        help="show each scenario's quick and full parameters")
    parser.add_argument("--targets", action="store_true",
                        help="the built-in targets: version (or how to install), parts, "
                             "capabilities")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def listing(suite: str | None = None, names: Sequence[str] = ()) -> dict[str, Any]:
    """``{"suites": {...}, "scenarios": [...], "hypotheses": {...}}`` of what is registered:
    every scenario, those of ``suite``, or those named (in the order given).

    :raises HarnessError: unknown suite or scenario.
    """
    import scenarios  # noqa: F401  (registers the built-in scenarios)
    from scenarios.registry import (
        HYPOTHESES,
        UnknownScenario,
        UnknownSuite,
        all_scenarios,
        get_scenario,
        suite_members,
        suites,
    )

    try:
        if names:
            specs = [get_scenario(name) for name in dict.fromkeys(names)]
        elif suite is not None:
            specs = suite_members(suite)
        else:
            specs = all_scenarios()
    except (UnknownScenario, UnknownSuite) as exc:
        raise HarnessError(str(exc)) from None
    return {
        "suites": {name: {"description": description,
                          "scenarios": [s.name for s in all_scenarios() if name in s.suites]}
                   for name, description in sorted(suites().items())
                   if suite is None or name == suite},
        "scenarios": [
            {"name": s.name, "category": s.category, "hypotheses": list(s.hypotheses),
             "suites": list(s.suites), "requires": list(s.requires),
             "summary": s.summary, "description": s.description, "module": s.module,
             "quick": dict(s.quick), "full": dict(s.full)}
            for s in specs
        ],
        "hypotheses": dict(HYPOTHESES),
    }


def target_listing() -> dict[str, Any]:
    """``{"targets": [...]}``: each built-in target's version, parts, capabilities and
    declarations, or (not installed) the command that installs it."""
    from harness.targets import BUILTIN_TARGETS, builtin_status

    return {"targets": [builtin_status(name) for name in BUILTIN_TARGETS]}


def _print_targets(console: Console, data: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    table = Table(title="built-in targets (--target NAME; docs/targets.md)",
                  box=box.SIMPLE_HEAD)
    table.add_column("target", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("parts", max_width=16)
    table.add_column("capabilities", ratio=1)
    for row in data["targets"]:
        if row["installed"]:
            table.add_row(row["name"], row["version"], " ".join(row["parts"]),
                          " ".join(row["capabilities"]) or "-")
        else:
            table.add_row(row["name"], "not installed", "-", "(below)")
    console.print(table)
    for row in data["targets"]:
        if not row["installed"]:
            console.print(f"{row['name']}: {row.get('error') or row['install']}",
                          markup=False, highlight=False)


def _params_text(s: dict[str, Any]) -> str:
    return "\n".join(f"{k}: {s['quick'][k]!r} / {s['full'][k]!r}" for k in s["full"]) or "-"


def _print_tables(console: Console, data: dict[str, Any], *, params: bool) -> None:
    from rich import box
    from rich.table import Table

    suites_table = Table(title="suites", box=box.SIMPLE_HEAD)
    suites_table.add_column("suite", no_wrap=True)
    suites_table.add_column("scenarios")
    suites_table.add_column("description")
    for name, info in data["suites"].items():
        suites_table.add_row(name, ", ".join(info["scenarios"]), info["description"])
    console.print(suites_table)
    table = Table(title="scenarios (list SCENARIO for the full description)",
                  box=box.SIMPLE_HEAD)
    table.add_column("scenario", no_wrap=True)
    table.add_column("category", no_wrap=True)
    table.add_column("hypotheses")
    table.add_column("summary", ratio=1)
    if params:
        table.add_column("quick / full parameters", overflow="fold")
    for s in data["scenarios"]:
        row = [s["name"], s["category"], " ".join(s["hypotheses"]), s["summary"]]
        if params:
            row.append(_params_text(s))
        table.add_row(*row)
    console.print(table)
    hyp = Table(title="hypotheses (TRANSFORM-007)", box=box.SIMPLE_HEAD)
    hyp.add_column("#", no_wrap=True)
    hyp.add_column("hypothesis")
    hyp.add_column("tested by")
    for key, statement in data["hypotheses"].items():
        tested = [s["name"] for s in data["scenarios"] if key in s["hypotheses"]]
        hyp.add_row(key, statement, ", ".join(tested) or "-")
    console.print(hyp)


def _print_details(console: Console, data: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    hypotheses = data["hypotheses"]
    for s in data["scenarios"]:
        table = Table(title=s["name"], box=box.SIMPLE, show_header=False)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value")
        table.add_row("description", s["description"] or "-")
        table.add_row("category", s["category"])
        table.add_row("hypotheses", "\n".join(f"{h}: {hypotheses.get(h, '?')}"
                                              for h in s["hypotheses"]) or "-")
        table.add_row("suites", ", ".join(s["suites"]) or "-")
        table.add_row("requires", ", ".join(s["requires"]) or "-")
        table.add_row("module", s["module"] or "-")
        table.add_row("quick / full", _params_text(s))
        console.print(table)


def execute(args: argparse.Namespace) -> int:
    from rich.console import Console

    from harness.runner import configured_scenario_modules, import_scenario_modules

    if args.targets:
        if args.names or args.suite or args.modules or args.params:
            raise HarnessError("list --targets takes no scenario, --suite, --scenarios or "
                               "--params")
        data = target_listing()
        if args.json:
            sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_SORT_KEYS
                                                 | orjson.OPT_INDENT_2) + b"\n")
        else:
            _print_targets(Console(), data)
        return EXIT_OK
    import_scenario_modules(dict.fromkeys([*configured_scenario_modules(), *args.modules]))
    data = listing(args.suite, args.names)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_SORT_KEYS
                                             | orjson.OPT_INDENT_2) + b"\n")
        return EXIT_OK
    console = Console()
    if args.names:
        _print_details(console, data)
    else:
        _print_tables(console, data, params=args.params)
    return EXIT_OK
