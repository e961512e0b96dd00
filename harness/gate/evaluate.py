"""The gate's evaluation: every threshold and status check of a run against its baseline."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from harness.declared import fails_target
from harness.errors import HarnessError
from harness.findings import missing_capabilities
from harness.gate.outcome import (
    BREACH,
    DEFAULT_ALPHA,
    DEFAULT_MIN_REPEATS,
    INVALID,
    PASS,
    SKIP,
    Check,
    GateOutcome,
    _skip,
    format_value,
)
from harness.gate.relative import (
    THIN_TAIL,
    _relative_check,
    check_comparable,
)
from harness.gate.results import (
    _MISSING,
    _UNMEASURED_STATUSES,
    _range,
    _unknown_metric,
    _values,
    _worst,
    group_scenarios,
)
from harness.thresholds import Threshold

__all__ = [
    "TIMING_INVARIANTS",
    "evaluate",
]

_FAILED_STATUSES = ("fail", "error", "timeout")
TIMING_INVARIANTS = frozenset({"latency_bounded", "pipeline_hops_bounded", "speaker_silenced"})
"""Invariants that hold a duration under a fixed limit (high_load's P99 <= 50 ms). One
repeat of three over the limit while the others are under it is the machine (a neighbour
that took the CPU for a while), the same noise the relative checks test repeats against;
a target that breaks the bound breaks it in most repeats."""


def evaluate(
    results: dict[str, Any],
    baseline: dict[str, Any] | None,
    thresholds: Sequence[Threshold],
    *,
    scenarios: Sequence[str] | None = None,
    check_status: bool = True,
    alpha: float = DEFAULT_ALPHA,
    min_repeats: int = DEFAULT_MIN_REPEATS,
) -> GateOutcome:
    """Apply ``thresholds`` to ``results`` (and ``baseline`` for relative limits).

    :raises HarnessError: an unknown metric or scenario, a metric without samples, a relative
        threshold the baseline cannot answer, a baseline that cannot be compared with the
        results (:func:`check_comparable`), or nothing to check (exit 2).
    """
    if not 0 < alpha < 1:
        raise HarnessError(f"alpha must be between 0 and 1, got {alpha!r}")
    groups = group_scenarios(results)
    if scenarios:
        unknown = [name for name in scenarios if name not in groups]
        if unknown:
            raise HarnessError(
                f"--scenario {', '.join(unknown)}: not in the results "
                f"(have: {', '.join(groups) or 'none'})"
            )
        selected = [name for name in groups if name in scenarios]
    else:
        selected = list(groups)
    base_groups = group_scenarios(baseline) if baseline is not None else {}
    if baseline is not None and any(t.limit.relative for t in thresholds):
        check_comparable(results, baseline, selected, min_repeats=min_repeats)
    outcome = GateOutcome()
    if check_status:
        outcome.checks += [_status_check(name, groups[name], base_groups.get(name))
                           for name in selected]
    for threshold in thresholds:
        outcome.checks += _threshold_checks(
            threshold, results, baseline, groups, base_groups, selected, alpha
        )
    if not outcome.checks:
        raise HarnessError("nothing to check: give --threshold, --config or enable status checks")
    return outcome


def _status_check(
    name: str, repeats: list[dict[str, Any]], base: list[dict[str, Any]] | None
) -> Check:
    statuses = [s["status"] for s in repeats]
    shown = ", ".join(statuses)
    note = ""
    if all(s == "skipped" for s in statuses):
        verdict = SKIP
        missing = sorted({c for s in repeats for c in missing_capabilities(s)})
        note = f"skipped: the target lacks {', '.join(missing)}"
        shown = "skipped"
    elif "invalid" in statuses:
        verdict = INVALID
        note = "the load generator saturated: the numbers do not measure the target"
    elif any(s in _FAILED_STATUSES for s in statuses):
        failed = [
            f"{inv.get('name')}" for s in repeats for inv in s.get("invariants") or []
            if fails_target(inv)
        ]
        timing = [s for s in repeats if _timing_only(s)]
        measured = [s for s in repeats if s["status"] not in _UNMEASURED_STATUSES]
        if timing and len(timing) == sum(s in _FAILED_STATUSES for s in statuses) \
                and 2 * len(timing) <= len(measured):
            verdict = PASS
            names = ", ".join(dict.fromkeys(failed))
            note = (f"{names} broken in {len(timing)} of {len(measured)} repeats only "
                    "(a timing bound breaches when most repeats break it)")
        else:
            verdict = BREACH
            note = ("broken: " + ", ".join(dict.fromkeys(failed)) if failed
                    else f"status {shown}")
    else:
        verdict = PASS
    return Check(
        expression="status == pass", metric="status", scenario=name, baseline=None,
        current=None, limit="pass", verdict=verdict, note=note, source="status",
        shown_current=shown,
        shown_baseline=", ".join(s["status"] for s in base) if base else "—",
    )


def _timing_only(repeat: dict[str, Any]) -> bool:
    """A failed repeat whose only broken invariants are timing bounds."""
    if repeat["status"] != "fail":
        return False
    failed = [inv.get("name") for inv in repeat.get("invariants") or []
              if fails_target(inv)]
    return bool(failed) and all(name in TIMING_INVARIANTS for name in failed)


def _threshold_checks(
    threshold: Threshold,
    results: dict[str, Any],
    baseline: dict[str, Any] | None,
    groups: dict[str, list[dict[str, Any]]],
    base_groups: dict[str, list[dict[str, Any]]],
    selected: list[str],
    alpha: float,
) -> list[Check]:
    if threshold.scenario is not None:
        if threshold.scenario not in groups:
            raise HarnessError(
                f"{threshold.source}: threshold {threshold.text!r} names scenario "
                f"{threshold.scenario!r}, which is not in the results "
                f"(have: {', '.join(groups) or 'none'})"
            )
        if threshold.scenario not in selected:
            return []
        targets = [threshold.scenario]
    else:
        targets = selected
    if threshold.limit.relative and baseline is None:
        raise HarnessError(
            f"{threshold.source}: threshold {threshold.text!r} is relative but no baseline "
            "was given"
        )
    scoped = threshold.scenario is not None
    checks: list[Check] = []
    exists = measured = unmeasured_has_it = False
    only_unmeasured = True
    for name in targets:
        all_repeats = groups[name]
        repeats = [s for s in all_repeats if s["status"] not in _UNMEASURED_STATUSES]
        values, states = _values(all_repeats, threshold.metric)
        if states != {_MISSING}:
            exists = True
        if not repeats:
            if all(s["status"] == "skipped" for s in all_repeats):
                checks.append(_skip(threshold, name, "scenario skipped: not measured"))
            elif states != {_MISSING}:
                checks.append(_skip(threshold, name, "run invalid: not measured"))
                unmeasured_has_it = True
            continue
        only_unmeasured = False
        values, states = _values(repeats, threshold.metric)
        if not values:
            if states == {_MISSING}:
                if scoped:
                    raise _unknown_metric(threshold, results, f"scenario {name!r} does not have")
                continue
            if scoped:
                raise HarnessError(
                    f"{threshold.source}: threshold {threshold.text!r}: metric "
                    f"{threshold.metric.name!r} has no samples in scenario {name!r} "
                    "(count 0 or null): nothing to compare"
                )
            checks.append(_skip(threshold, name, "no samples (count 0 or null)"))
            continue
        measured = True
        if threshold.limit.relative:
            assert baseline is not None
            check = _relative_check(threshold, name, repeats, results, baseline, base_groups,
                                    alpha)
        else:
            check = _absolute_check(threshold, name, values, base_groups.get(name))
        checks.append(check)
    if not exists:
        raise _unknown_metric(threshold, results, "no scenario of the results has")
    if not measured and not only_unmeasured and not unmeasured_has_it:
        raise HarnessError(
            f"{threshold.source}: threshold {threshold.text!r}: metric "
            f"{threshold.metric.name!r} has no samples in any scenario (count 0 or null)"
        )
    if threshold.limit.relative and measured and not any(
            c.verdict != SKIP or THIN_TAIL in c.note for c in checks):
        raise HarnessError(
            f"{threshold.source}: threshold {threshold.text!r}: the baseline has "
            f"{threshold.metric.name!r} for none of the scenarios it applies to"
        )
    return checks


def _absolute_check(
    threshold: Threshold,
    scenario: str,
    values: list[float],
    base_repeats: list[dict[str, Any]] | None,
) -> Check:
    limit = threshold.limit.value(None)
    failing = [v for v in values if not threshold.holds(v, limit)]
    shown = _worst(threshold, values, limit)
    notes = []
    if len(values) > 1:
        notes.append(f"worst of {len(values)} runs ({_range(values)})")
    base_value = None
    if base_repeats:
        base_values, _ = _values(
            [s for s in base_repeats if s["status"] not in _UNMEASURED_STATUSES],
            threshold.metric)
        if base_values:
            base_value = statistics.median(base_values)
    return Check(
        expression=threshold.describe(), metric=threshold.metric.name, scenario=scenario,
        baseline=base_value, current=shown, limit=f"{threshold.op} {format_value(limit)}",
        verdict=BREACH if failing else PASS, note="; ".join(notes), source=threshold.source,
    )
