"""The ``stageflow-stress`` command line.

Each sub-command lives in ``harness/commands/<name>.py`` and exposes two functions:
``configure(parser)`` adds its arguments and ``execute(args) -> int`` runs it and returns
the exit code. :func:`main` imports and configures only the command it was given (the
top-level ``--help`` lists every command from :data:`COMMANDS` without importing any), so a
slow import in one command never slows another, nor ``--help``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from harness.errors import HarnessError

__all__ = ["COMMANDS", "build_parser", "main"]

# command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("harness.commands.run", "run scenarios or a suite against a target"),
    "list": ("harness.commands.list", "list suites, scenarios, categories and hypotheses"),
    "report": ("harness.commands.report", "regenerate the final report from results and ledgers"),
    "gate": ("harness.commands.gate", "check a run against thresholds and a baseline"),
    "bench": ("harness.commands.bench", "benchmarks: ratios measured side by side"),
    "fuzz": ("harness.commands.fuzz", "property-based fuzzing of a target's queue and buffer"),
    "compare": ("harness.commands.compare", "run one suite on several targets side by side"),
    "sweep": ("harness.commands.sweep",
              "sweep scenario parameters x targets x seeds on a process pool or Ray"),
    "selftest": ("harness.commands.selftest",
                 "measure the judge on a corpus of seeded-defect and clean implementations"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with ``only`` one where just that command has its options (the
    others are listed by name and help, and would reject their own options)."""
    parser = argparse.ArgumentParser(
        prog="stageflow-stress",
        description=(
            "Stress, fault-injection and benchmark harness for asyncio streaming primitives."
        ),
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show tracebacks for errors (default: one line)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        command_parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                                    help="show tracebacks for errors")
        command_parser.set_defaults(_module=module_name)
        if only is not None and name != only:
            continue
        module = _load(module_name)
        if module is not None:
            module.configure(command_parser)
    return parser


def _load(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None  # command not built yet in this checkout
        raise


def _command_in(argv: Sequence[str]) -> str | None:
    """The command named in ``argv``: its first word that is not an option (or None)."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(argv)
    parser = build_parser(only=command or "")  # no command: usage or --help, load none
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    try:
        module = _load(args._module)
        if module is None:
            raise HarnessError(f"command {args.command!r} is not available in this build")
        return int(module.execute(args))
    except HarnessError as exc:
        if verbose:
            raise
        print(f"stageflow-stress {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"stageflow-stress {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
