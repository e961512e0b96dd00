"""Property-based fuzzing of any target's queue, buffer and audio objects.

``run_fuzz(target, FuzzConfig(...))`` drives hypothesis state machines (one per
component, :data:`MACHINES`) against a target from :mod:`harness.targets` and returns a
:class:`FuzzReport`; :func:`to_findings` turns it into ledger findings, one per distinct
defect, each with a runnable reproduction (see docs/fuzzing.md).
"""

from harness.fuzz.core import FuzzMachine, PropertyViolation, StepLog
from harness.fuzz.session import (
    MACHINES,
    FuzzConfig,
    FuzzReport,
    Violation,
    run_fuzz,
    to_findings,
)
from harness.fuzz.snippet import render_snippet, run_snippet

__all__ = [
    "MACHINES",
    "FuzzConfig",
    "FuzzMachine",
    "FuzzReport",
    "PropertyViolation",
    "StepLog",
    "Violation",
    "render_snippet",
    "run_fuzz",
    "run_snippet",
    "to_findings",
]
