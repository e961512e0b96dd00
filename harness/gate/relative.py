"""Relative checks: comparable baselines, the units each side gives the test, and the verdict of
limit plus significance (harness/stats.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness.errors import HarnessError
from harness.gate.outcome import (
    BREACH,
    DEFAULT_MIN_REPEATS,
    PASS,
    Check,
    _skip,
    format_value,
)
from harness.gate.results import (
    _MISSING,
    _current_repeats,
    _lookup,
    _measured,
    _paced,
    _reference,
    _values,
    group_scenarios,
)
from harness.stats import HistogramSample, Sample, ScalarSample, compare
from harness.thresholds import MetricPath, Threshold

__all__ = [
    "THIN_TAIL",
    "check_comparable",
]

_HISTOGRAMS = {"latency_ms": "latency_hdr", "service_ms": "service_hdr"}
_PERCENTILE_OF = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9,
                  "max": 100.0}


def _rerecord(doc: dict[str, Any], repeat: int) -> str:
    """The command that records ``doc`` again with at least ``repeat`` repeats."""
    words = str(doc.get("command") or "stageflow-stress run --quick --seed 1").split()
    if "--repeat" in words and words.index("--repeat") + 1 < len(words):
        at = words.index("--repeat") + 1
        words[at] = str(max(repeat, int(words[at]) if words[at].isdigit() else 0))
    else:
        words += ["--repeat", str(repeat)]
    return " ".join(words)


def check_comparable(
    results: dict[str, Any], baseline: dict[str, Any], selected: Sequence[str], *,
    min_repeats: int = DEFAULT_MIN_REPEATS,
) -> None:
    """Refuse a baseline that relative checks cannot be judged against.

    Each selected scenario present on both sides must have run with the same parameters,
    and with at least ``min_repeats`` measured repeats on each side.

    :raises HarnessError: one line saying what differs and the command to re-record with.
    """
    if min_repeats < 2:
        raise HarnessError(f"min_repeats must be >= 2 (a test needs a spread), got {min_repeats}")
    groups, base_groups = group_scenarios(results), group_scenarios(baseline)
    for name in selected:
        base = base_groups.get(name)
        if base is None:
            continue
        mine = groups[name]
        base_params, my_params = base[0].get("params"), mine[0].get("params")
        if base_params is not None and my_params is not None and base_params != my_params:
            keys = sorted(k for k in set(base_params) | set(my_params)
                          if base_params.get(k) != my_params.get(k))
            shown = ", ".join(f"{k}={base_params.get(k)!r} vs {my_params.get(k)!r}"
                              for k in keys[:4])
            raise HarnessError(
                f"the baseline ran scenario {name!r} with other parameters ({shown}; "
                f"baseline vs results): re-record the baseline with the results' parameters: "
                f"{_rerecord(results, min_repeats)}")
        for side, repeats, doc in (("baseline", base, baseline), ("results", mine, results)):
            measured = _measured(repeats)
            # the results' unmeasured (invalid, skipped) repeats are the status check's
            # business (exit 3 for invalid); the baseline must be usable as it is
            have = len(measured) if side == "baseline" else len(repeats)
            if have >= min_repeats or not measured:
                continue
            what = "re-record the baseline" if side == "baseline" else "run again"
            unusable = len(repeats) - len(measured)
            why = f" ({unusable} invalid or skipped)" if side == "baseline" and unusable else ""
            raise HarnessError(
                f"the {side} has {have} measured repeat(s) of scenario {name!r}{why}; "
                f"relative checks need >= {min_repeats}: {what} with "
                f"{_rerecord(doc, min_repeats)}")


def _unit_sample(repeats: list[dict[str, Any]], metric: MetricPath,
                 values: list[float]) -> Sample:
    """The units of one side: rounds recorded in a ``samples`` list beside the metric, the
    repeats' HDR histograms for a latency or service percentile, else one value per repeat."""
    *parent_path, key = metric.path
    pooled: list[float] = []
    for scenario in repeats:
        node: Any = scenario
        for part in parent_path:
            node = node.get(part) if isinstance(node, dict) else None
        rounds = node.get("samples", {}).get(key) if isinstance(node, dict) else None
        if isinstance(rounds, list):
            pooled += [float(v) for v in rounds if isinstance(v, int | float)]
    if pooled:
        return ScalarSample(pooled)
    if (len(metric.path) == 3 and metric.path[1] in _HISTOGRAMS
            and metric.path[2] in _PERCENTILE_OF and len(values) == len(repeats)):
        encoded = [(s["metrics"].get(_HISTOGRAMS[metric.path[1]]) or "") for s in repeats]
        try:
            return HistogramSample(encoded, _PERCENTILE_OF[metric.path[2]], values)
        except ValueError:
            pass  # a histogram is missing or unreadable: fall back to one value per repeat
    return ScalarSample(values)


THIN_TAIL = "too few to compare"
"""How the note of a percentile skipped for a thin tail ends its reason."""
MIN_TAIL_SAMPLES = 5
"""A percentile is compared only when every repeat of both sides has at least this many
samples beyond it: P99.9 of 600 samples is the slowest one, which one scheduling hiccup of
the machine sets."""


def _thin_tail(metric: MetricPath, repeats: list[dict[str, Any]]) -> str | None:
    """Why a latency or service percentile below the max cannot be compared over these
    repeats (too few samples beyond it in one of them), or None when it can."""
    if not (len(metric.path) == 3 and metric.path[1] in _HISTOGRAMS
            and metric.path[2] in _PERCENTILE_OF):
        return None
    share = round(1 - _PERCENTILE_OF[metric.path[2]] / 100, 12)
    if share <= 0:
        return None  # the max: asked for as it is
    counts = [node.get("count") for s in repeats
              if isinstance(node := s["metrics"].get(metric.path[1]), dict)]
    counts = [int(c) for c in counts if isinstance(c, int | float) and c > 0]
    if not counts or min(counts) * share >= MIN_TAIL_SAMPLES:
        return None
    needed = math.ceil(MIN_TAIL_SAMPLES / share)
    label = f"P{_PERCENTILE_OF[metric.path[2]]:g}"
    return (f"{min(counts):,} samples in a repeat leave {min(counts) * share:.2g} beyond "
            f"{label}: {THIN_TAIL} (needs >= {needed:,} per repeat)")


def _relative_check(
    threshold: Threshold,
    scenario: str,
    repeats: list[dict[str, Any]],
    results: dict[str, Any],
    baseline: dict[str, Any],
    base_groups: dict[str, list[dict[str, Any]]],
    alpha: float,
) -> Check:
    scoped = threshold.scenario is not None
    base_repeats = base_groups.get(scenario)
    if base_repeats is None:
        if scoped:
            raise HarnessError(
                f"{threshold.source}: threshold {threshold.text!r}: the baseline has no "
                f"scenario {scenario!r}"
            )
        return _skip(threshold, scenario, "not in the baseline")
    valid = _measured(base_repeats)
    if not valid and all(s["status"] == "skipped" for s in base_repeats):
        return _skip(threshold, scenario, "skipped in the baseline: not measured there")
    if not valid:
        raise HarnessError(
            f"baseline: scenario {scenario!r} is invalid in every repeat (the load generator "
            "saturated); record the baseline again"
        )
    base_values, states = _values(valid, threshold.metric)
    if not base_values:
        reason = "does not have" if states == {_MISSING} else "has no samples of"
        if scoped:
            raise HarnessError(
                f"{threshold.source}: threshold {threshold.text!r}: the baseline's scenario "
                f"{scenario!r} {reason} {threshold.metric.name!r}"
            )
        return _skip(threshold, scenario, f"the baseline {reason} this metric")
    values, _ = _values(repeats, threshold.metric)
    if len(values) < 2:
        return _skip(threshold, scenario, f"{len(values)} measured repeat: no spread to test")
    thin = _thin_tail(threshold.metric, [*valid, *repeats])
    if thin is not None:
        return _skip(threshold, scenario, thin)
    current = _unit_sample([s for s in repeats if _lookup(s, threshold.metric)[1] is not None],
                           threshold.metric, values)
    base = _unit_sample([s for s in valid if _lookup(s, threshold.metric)[1] is not None],
                        threshold.metric, base_values)

    notes: list[str] = []
    if threshold.metric.throughput:
        current_ref, base_ref = _reference(results), _reference(baseline)
        if _paced(base_groups[scenario]) or _paced(_current_repeats(results, scenario)):
            notes.append("raw: open-loop, the offered rate sets it")
        elif current_ref is not None and base_ref is not None:
            scale = current_ref / base_ref
            base = ScalarSample(base.units * scale)
            notes.append(f"normalised by reference (baseline x{scale:.3g})")
        else:
            notes.append("raw throughput: a reference is missing")
    if threshold.op in ("==", "!="):
        base_stat, current_stat = base.point(), current.point()
        limit = threshold.limit.value(base_stat)
        crossed = not threshold.holds(current_stat, limit)
        return Check(
            expression=threshold.describe(), metric=threshold.metric.name, scenario=scenario,
            baseline=base_stat, current=current_stat,
            limit=f"{threshold.op} {format_value(limit)}",
            verdict=BREACH if crossed else PASS, note="; ".join(notes), source=threshold.source)
    worse = "higher" if threshold.op in ("<", "<=") else "lower"
    comparison = compare(current, base, worse=worse)
    limit = threshold.limit.value(comparison.baseline)
    crossed = not threshold.holds(comparison.current, limit)
    significant = not math.isnan(comparison.p) and comparison.p < alpha
    notes.insert(0, comparison.test)
    if crossed and not significant:
        notes.append(f"limit crossed within noise (p >= {alpha:g}): not a breach")
    elif significant and not crossed:
        notes.append("worse than the baseline, within the limit")
    return Check(
        expression=threshold.describe(), metric=threshold.metric.name, scenario=scenario,
        baseline=comparison.baseline, current=comparison.current,
        limit=f"{threshold.op} {format_value(limit)}",
        verdict=BREACH if crossed and significant else PASS, note="; ".join(notes),
        source=threshold.source, comparison=comparison,
    )
