"""Exceptions and exit codes shared by every command of the CLI."""

from __future__ import annotations

__all__ = [
    "EXIT_BREACH",
    "EXIT_FAIL",
    "EXIT_INVALID_RUN",
    "EXIT_OK",
    "EXIT_USAGE",
    "HarnessError",
]

EXIT_OK = 0
EXIT_FAIL = 1  # a scenario failed (invariant broken, hang, crash)
EXIT_USAGE = 2  # bad input: unknown name, unreadable or corrupt file, bad expression
EXIT_INVALID_RUN = 3  # the run itself was invalid (the load generator saturated)
EXIT_BREACH = 99  # a gate threshold was breached (k6's convention)


class HarnessError(Exception):
    """Bad input or usage: the CLI prints the message on one line and exits with ``exit_code``."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
