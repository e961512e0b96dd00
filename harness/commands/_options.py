"""Options several commands share (``run``, ``compare``, ``fuzz``), declared and checked once.

Each ``add_*`` adds one option (or a pair) with the same name, default and help wherever it
appears; each ``check_*`` raises :class:`~harness.errors.HarnessError` (exit 2, one line)
on a bad value, before the command starts any work.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from harness.errors import HarnessError

__all__ = [
    "DEFAULT_TARGET",
    "add_json",
    "add_ledger_options",
    "add_quick",
    "add_results_dir",
    "add_seed",
    "add_target",
    "add_timeout",
    "check_ledger_dir",
    "check_seed",
    "check_timeout",
    "check_writable",
]

DEFAULT_TARGET = "stageflow_core"


def add_target(parser: argparse.ArgumentParser) -> None:
    """``--target NAME`` (default stageflow_core)."""
    parser.add_argument("--target", default=DEFAULT_TARGET, metavar="NAME",
                        help="stageflow_core (default), stageflow, package.module or "
                             "package.module:factory")


def add_seed(parser: argparse.ArgumentParser, *, default: int | None, help: str) -> None:
    """``--seed N``; what the seed drives and its default differ per command."""
    parser.add_argument("--seed", type=int, default=default, metavar="N", help=help)


def add_quick(parser: argparse.ArgumentParser) -> None:
    """``--quick``: the scenarios' quick parameters."""
    parser.add_argument("--quick", action="store_true", help="quick parameters (smaller, faster)")


def add_timeout(parser: argparse.ArgumentParser) -> None:
    """``--timeout S``: deadline per scenario."""
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="deadline per scenario in seconds (default: the scenario's own)")


def add_results_dir(parser: argparse.ArgumentParser) -> None:
    """``--results-dir DIR`` (default results)."""
    parser.add_argument("--results-dir", type=Path, default=Path("results"), metavar="DIR",
                        help="where results are written (default: results)")


def add_ledger_options(parser: argparse.ArgumentParser) -> None:
    """``--ledger-dir DIR`` (default .) and ``--no-ledger``."""
    parser.add_argument("--ledger-dir", type=Path, default=Path("."), metavar="DIR",
                        help="findings ledgers to update (default: .)")
    parser.add_argument("--no-ledger", action="store_true",
                        help="do not merge findings into the ledgers")


def add_json(parser: argparse.ArgumentParser, *, help: str) -> None:
    """``--json``: machine output on stdout (what is printed differs per command)."""
    parser.add_argument("--json", action="store_true", help=help)


def check_seed(seed: int | None) -> None:
    """:raises HarnessError: a negative seed."""
    if seed is not None and seed < 0:
        raise HarnessError(f"--seed must be >= 0, got {seed}")


def check_timeout(timeout: float | None) -> None:
    """:raises HarnessError: a timeout that is not > 0 (NaN included)."""
    if timeout is not None and not timeout > 0:
        raise HarnessError(f"--timeout must be > 0 seconds, got {timeout}")


def check_writable(directory: Path, what: str) -> None:
    """Create ``directory`` if needed and prove a file can be written in it.

    :raises HarnessError: naming ``what`` and the directory.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise HarnessError(f"{what} {directory} is not writable: {exc.strerror or exc}") from None


def check_ledger_dir(args: argparse.Namespace) -> Path | None:
    """The ledger directory to merge into, or None with ``--no-ledger``.

    :raises HarnessError: a corrupt ledger (file and line) or an unwritable directory.
    """
    if args.no_ledger:
        return None
    from harness.ledgers import load_ledgers

    ledger_dir = Path(args.ledger_dir)
    load_ledgers(ledger_dir)  # a corrupt ledger is bad input: refuse before any work
    check_writable(ledger_dir, "ledger directory")
    return ledger_dir
