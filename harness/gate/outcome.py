"""A check's row and the gate's outcome: verdicts, exit code, how numbers are shown."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.errors import EXIT_BREACH, EXIT_INVALID_RUN, EXIT_OK
from harness.stats import Comparison
from harness.thresholds import Threshold

__all__ = [
    "BREACH",
    "DEFAULT_ALPHA",
    "DEFAULT_MIN_REPEATS",
    "INVALID",
    "PASS",
    "SKIP",
    "Check",
    "GateOutcome",
    "format_value",
]

PASS, BREACH, SKIP, INVALID = "PASS", "BREACH", "SKIP", "INVALID"
DEFAULT_ALPHA = 0.01
"""A relative limit is breached only when the test's one-sided p is below this."""
DEFAULT_MIN_REPEATS = 3
"""Measured repeats of a scenario each side needs for a relative check."""


@dataclass
class Check:
    """One row of the gate: a threshold (or the status check) applied to one scenario."""

    expression: str
    metric: str
    scenario: str
    baseline: float | None
    current: float | None
    limit: str
    verdict: str
    note: str = ""
    source: str = ""
    shown_current: str | None = None
    shown_baseline: str | None = None
    comparison: Comparison | None = None
    """The statistics of a relative check (effect, interval, p); None for the others."""

    @property
    def effect_text(self) -> str:
        return self.comparison.describe_effect() if self.comparison is not None else ""

    @property
    def p_text(self) -> str:
        return self.comparison.describe_p() if self.comparison is not None else ""

    def current_text(self) -> str:
        return self.shown_current if self.shown_current is not None else format_value(self.current)

    def baseline_text(self) -> str:
        if self.shown_baseline is not None:
            return self.shown_baseline
        return format_value(self.baseline)


@dataclass
class GateOutcome:
    """All checks in order, and the exit code they add up to."""

    checks: list[Check] = field(default_factory=list)

    @property
    def breaches(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == BREACH]

    @property
    def invalid(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == INVALID]

    @property
    def exit_code(self) -> int:
        if self.invalid:
            return EXIT_INVALID_RUN
        if self.breaches:
            return EXIT_BREACH
        return EXIT_OK

    @property
    def verdict(self) -> str:
        return {EXIT_INVALID_RUN: INVALID, EXIT_BREACH: BREACH}.get(self.exit_code, PASS)


def format_value(value: float | None) -> str:
    """Numbers for tables: thousands separators from 1000, up to four significant digits below."""
    if value is None:
        return "—"
    if math.isinf(value) or math.isnan(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


def _skip(threshold: Threshold, scenario: str, note: str) -> Check:
    return Check(
        expression=threshold.describe(), metric=threshold.metric.name, scenario=scenario,
        baseline=None, current=None, limit=f"{threshold.op} {threshold.limit.describe()}",
        verdict=SKIP,
        note=note, source=threshold.source,
    )
