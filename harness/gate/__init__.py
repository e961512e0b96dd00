"""The CI regression gate: thresholds checked against a run and a baseline run.

Rules (docs/gate.md explains them for users):

- A threshold without a scenario applies to every scenario that has the metric. A metric
  found in no scenario, or with no samples anywhere (``count == 0`` or ``null``), is bad
  input (exit 2), never a pass; a scenario-scoped threshold must find samples there.
- Absolute limits (``lost == 0``, ``latency.p99_ms < 50``) are hard limits: every repeat of
  the scenario must meet them, the worst one is shown.
- Relative limits (``latency.p99_ms <= 1.5 * baseline``) compare the repeats of the run
  with the repeats of the baseline (harness/stats.py): the limit is computed from the
  baseline's statistic (a percentile of the merged HDR histograms for latency and service
  time, else the median of the units), and it is breached only when the current statistic
  crosses it *and* the one-sided test says the run is worse than the baseline with
  ``p < alpha`` (default :data:`DEFAULT_ALPHA`). The row shows the effect (current /
  baseline) with its 95 % interval, p and the test. ``==`` and ``!=`` relative limits are
  exact comparisons of the statistics, without a test.
- A relative check needs at least ``min_repeats`` (default :data:`DEFAULT_MIN_REPEATS`)
  measured repeats of each scenario on both sides, and both sides must have run each
  scenario with the same parameters; otherwise the gate refuses (exit 2) and says what to
  re-record (:func:`check_comparable`).
- Throughput is compared as a ratio to ``reference.asyncio_queue_items_per_s`` when both
  documents carry it (a reference measured in the same run on the same machine): the
  baseline is scaled to this machine before the comparison. Open-loop scenarios that offer
  load at a set rate (``metrics.offered_cps`` > 0) are compared raw: their throughput is
  set by the schedule, not by the machine. The note says which was used.
- Every selected scenario also gets a ``status == pass`` check unless disabled; a scenario
  whose status is ``invalid`` makes the gate exit 3. A repeat that failed only a timing
  bound (:data:`TIMING_INVARIANTS`: a P99 against a fixed limit, which the machine's load
  moves as much as the target does) breaches the check only when most measured repeats
  broke it; any other failed invariant, an error or a timeout in one repeat breaches it.
  A ``skipped`` scenario (the target lacks a capability it needs) is a skipped check, and
  ``invalid`` and ``skipped`` attempts are never measured by a threshold.

Exit codes: 0 pass, 99 breach, 2 bad input, 3 invalid run.

The package follows a check's data flow: ``config`` (thresholds from their sources),
``results`` (reading a results document), ``relative`` (comparable baselines and the test),
``evaluate`` (every check of a run), ``outcome`` (a check's row, the exit code) and
``output`` (JUnit, the Markdown summary). Every name is importable from ``harness.gate``.
"""

from __future__ import annotations

from harness.gate.config import find_pyproject, load_config, load_thresholds
from harness.gate.evaluate import TIMING_INVARIANTS, evaluate
from harness.gate.outcome import (
    BREACH,
    DEFAULT_ALPHA,
    DEFAULT_MIN_REPEATS,
    INVALID,
    PASS,
    SKIP,
    Check,
    GateOutcome,
    format_value,
)
from harness.gate.output import gate_markdown, junit_cases
from harness.gate.relative import check_comparable
from harness.gate.results import group_scenarios

__all__ = [
    "BREACH",
    "DEFAULT_ALPHA",
    "DEFAULT_MIN_REPEATS",
    "INVALID",
    "PASS",
    "SKIP",
    "TIMING_INVARIANTS",
    "Check",
    "GateOutcome",
    "check_comparable",
    "evaluate",
    "find_pyproject",
    "format_value",
    "gate_markdown",
    "group_scenarios",
    "junit_cases",
    "load_config",
    "load_thresholds",
]
