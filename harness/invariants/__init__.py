"""General invariants, checked on every scenario from what its trace recorded.

Each check is a plain function ``check_x(obs, expect) -> Verdict | None`` over
:class:`Observations` (the trace as numpy arrays) and :class:`Expectations` (what the
scenario told its context: bounds, frame sizes, memory limit, and what the runner saw at
the deadline). ``None`` means "does not apply" (e.g. no bound was declared) and the check
is left out of the results. :func:`check_all` runs them all in a fixed order. Any other
part of the product (the adversarial suite, fuzzers) can build an ``Observations`` and
call the same checks.

A failed check names the contract clauses it saw broken, as :class:`harness.defects.DefectKey`
in ``Verdict.defects`` (so a defect seen by several checks, and by the fuzzer, is one
finding), from what it observed: where a hung task waits and whether the scenario had
closed that queue (``Expectations.closed``), which series held partial frames, whether
puts that were lost or dropped silently were waiting when a queue closed. What it cannot
name is left in ``Verdict.unattributed`` and filed under the check itself.

The accounting vocabulary (sent, refused, delivered, stranded, dropped, lost) is defined
once, in :mod:`~harness.invariants.accounting`.

The package follows the data flow of a check: :mod:`~harness.invariants.observations`
(the trace as arrays) and :mod:`~harness.invariants.expectations` (what it is held to),
:mod:`~harness.invariants.accounting` (every chunk counted once),
:mod:`~harness.invariants.attribution` (which clause a check saw broken, at which level),
one module per thing judged — :mod:`~harness.invariants.delivery` (lost, duplicated, out of
order), :mod:`~harness.invariants.bounds` (queue depth, buffer level, memory),
:mod:`~harness.invariants.frames`, :mod:`~harness.invariants.hangs`,
:mod:`~harness.invariants.telemetry`, :mod:`~harness.invariants.latency` — each returning a
:mod:`~harness.invariants.verdict` worded by :mod:`~harness.invariants.detail`, and
:mod:`~harness.invariants.registry` (every check in order: :func:`check_all`).
"""

from __future__ import annotations

from harness.invariants.accounting import REFUSED_OUTCOMES, Accounting, account, account_for
from harness.invariants.attribution import clause_level
from harness.invariants.bounds import check_bounds_held, check_memory_bounded
from harness.invariants.delivery import (
    check_fifo_per_producer,
    check_none_duplicated,
    check_none_lost,
)
from harness.invariants.detail import chunk_id
from harness.invariants.expectations import Expectations, HungTask
from harness.invariants.frames import check_whole_frames
from harness.invariants.hangs import check_no_hang
from harness.invariants.latency import (
    check_latency_bounded,
    delivered_times_ns,
    latencies_ns,
    schedule_lag_ns,
)
from harness.invariants.observations import (
    BLOCKED_EVENT,
    DROP_EVENT,
    TIMEOUT_EVENT,
    Observations,
    observe,
)
from harness.invariants.registry import CHECK_LEVELS, CHECKS, INVARIANT_HYPOTHESES, check_all
from harness.invariants.telemetry import check_telemetry
from harness.invariants.verdict import Verdict

__all__ = [
    "BLOCKED_EVENT",
    "CHECKS",
    "CHECK_LEVELS",
    "DROP_EVENT",
    "INVARIANT_HYPOTHESES",
    "REFUSED_OUTCOMES",
    "TIMEOUT_EVENT",
    "Accounting",
    "Expectations",
    "HungTask",
    "Observations",
    "Verdict",
    "account",
    "account_for",
    "check_all",
    "check_bounds_held",
    "check_fifo_per_producer",
    "check_latency_bounded",
    "check_memory_bounded",
    "check_no_hang",
    "check_none_duplicated",
    "check_none_lost",
    "check_telemetry",
    "check_whole_frames",
    "chunk_id",
    "clause_level",
    "delivered_times_ns",
    "latencies_ns",
    "observe",
    "schedule_lag_ns",
]
