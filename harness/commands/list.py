"""``stageflow-stress list``: suites, scenarios, their category and the hypotheses each tests."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from harness.errors import EXIT_OK, HarnessError

__all__ = ["configure", "execute", "listing"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", metavar="NAME", help="only the scenarios of this suite")
    parser.add_argument("--scenarios", action="append", default=[], metavar="MODULE",
                        dest="modules", help="import MODULE to register more scenarios")
    parser.add_argument("--params", action="store_true",
                        help="show each scenario's quick and full parameters")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def listing(suite: str | None = None) -> dict[str, Any]:
    """``{"suites": {...}, "scenarios": [...], "hypotheses": {...}}`` of what is registered.

    :raises HarnessError: unknown suite.
    """
    import scenarios  # noqa: F401  (registers the built-in scenarios)
    from scenarios.registry import HYPOTHESES, UnknownSuite, all_scenarios, suite_members, suites

    if suite is not None:
        try:
            specs = suite_members(suite)
        except UnknownSuite as exc:
            raise HarnessError(str(exc)) from None
    else:
        specs = all_scenarios()
    return {
        "suites": {name: {"description": description,
                          "scenarios": [s.name for s in all_scenarios() if name in s.suites]}
                   for name, description in sorted(suites().items())
                   if suite is None or name == suite},
        "scenarios": [
            {"name": s.name, "category": s.category, "hypotheses": list(s.hypotheses),
             "suites": list(s.suites), "requires": list(s.requires),
             "description": s.description, "module": s.module,
             "quick": dict(s.quick), "full": dict(s.full)}
            for s in specs
        ],
        "hypotheses": dict(HYPOTHESES),
    }


def execute(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from harness.runner import configured_scenario_modules, import_scenario_modules

    import_scenario_modules(dict.fromkeys([*configured_scenario_modules(), *args.modules]))
    data = listing(args.suite)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_SORT_KEYS
                                             | orjson.OPT_INDENT_2) + b"\n")
        return EXIT_OK
    console = Console()
    suites_table = Table(title="suites")
    suites_table.add_column("suite")
    suites_table.add_column("scenarios")
    suites_table.add_column("description")
    for name, info in data["suites"].items():
        suites_table.add_row(name, ", ".join(info["scenarios"]), info["description"])
    console.print(suites_table)
    table = Table(title="scenarios")
    for column in ("scenario", "category", "hypotheses", "suites", "description"):
        table.add_column(column, overflow="fold")
    if args.params:
        table.add_column("quick / full parameters", overflow="fold")
    for s in data["scenarios"]:
        row = [s["name"], s["category"], " ".join(s["hypotheses"]), ", ".join(s["suites"]),
               s["description"]]
        if args.params:
            row.append("\n".join(f"{k}: {s['quick'][k]!r} / {s['full'][k]!r}"
                                 for k in s["full"]))
        table.add_row(*row)
    console.print(table)
    hyp = Table(title="hypotheses (TRANSFORM-007)")
    hyp.add_column("#")
    hyp.add_column("hypothesis")
    hyp.add_column("tested by")
    for key, statement in data["hypotheses"].items():
        tested = [s["name"] for s in data["scenarios"] if key in s["hypotheses"]]
        hyp.add_row(key, statement, ", ".join(tested) or "-")
    console.print(hyp)
    return EXIT_OK
