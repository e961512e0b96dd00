"""The general invariants as a set: :data:`CHECKS` in their fixed order, run by
:func:`check_all`; the hypotheses each bears on (:data:`INVARIANT_HYPOTHESES`) and the
level each judges at as a whole (:data:`CHECK_LEVELS`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harness.contract import Level
from harness.invariants.bounds import check_bounds_held, check_memory_bounded
from harness.invariants.delivery import (
    check_fifo_per_producer,
    check_none_duplicated,
    check_none_lost,
)
from harness.invariants.expectations import Expectations
from harness.invariants.frames import check_whole_frames
from harness.invariants.hangs import check_no_hang
from harness.invariants.latency import check_latency_bounded
from harness.invariants.observations import Observations
from harness.invariants.telemetry import check_telemetry
from harness.invariants.verdict import Verdict

__all__ = ["CHECKS", "CHECK_LEVELS", "INVARIANT_HYPOTHESES", "check_all"]

INVARIANT_HYPOTHESES: dict[str, tuple[str, ...]] = {
    "none_lost": ("H5", "H1"),
    "none_duplicated": ("H5",),
    "fifo_per_producer": ("H5",),
    "bounds_held": ("H1", "H2"),
    "whole_frames": ("H2",),
    "no_hang": ("H1", "H6", "H5"),
    "memory_bounded": ("H6",),
    "latency_bounded": ("H7",),
    "telemetry": ("H4",),
}
"""Which TRANSFORM-007 hypotheses each general invariant bears on. A failed check refutes
those of them that its scenario tests (all of the scenario's when none of them is)."""


CHECK_LEVELS: dict[str, Level] = {
    "none_lost": Level.UNIVERSAL,
    "none_duplicated": Level.UNIVERSAL,
    "fifo_per_producer": Level.UNIVERSAL,
    "bounds_held": Level.UNIVERSAL,
    "whole_frames": Level.UNIVERSAL,
    "no_hang": Level.UNIVERSAL,
    "memory_bounded": Level.UNIVERSAL,
    "latency_bounded": Level.RECOMMENDED,
    "telemetry": Level.RECOMMENDED,
}
"""The level of each check as a whole (what it files under itself). ``latency_bounded`` is
the report's bound, ours; ``telemetry`` judges events, which no target owes unless it says
so (its keys are judged by :func:`harness.defects.level_of`)."""


CHECKS: Sequence[Callable[[Observations, Expectations], Verdict | None]] = (
    check_none_lost,
    check_none_duplicated,
    check_fifo_per_producer,
    check_bounds_held,
    check_whole_frames,
    check_no_hang,
    check_memory_bounded,
    check_latency_bounded,
    check_telemetry,
)


def check_all(obs: Observations, expect: Expectations) -> list[Verdict]:
    """Run every check in :data:`CHECKS`; the ones that do not apply are left out."""
    verdicts = []
    for check in CHECKS:
        verdict = check(obs, expect)
        if verdict is not None:
            verdicts.append(verdict)
    return verdicts
