"""Reading a results document for the gate: scenarios by name, a metric's values over repeats, the
reference speed, what was measured.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any

from harness.errors import HarnessError
from harness.gate.outcome import (
    format_value,
)
from harness.thresholds import METRIC_ALIASES, MetricPath, Threshold

__all__ = [
    "group_scenarios",
]

_UNMEASURED_STATUSES = ("invalid", "skipped")  # their numbers do not measure the target
_REFERENCE_KEY = "asyncio_queue_items_per_s"
_MISSING, _NO_SAMPLES, _OK = "missing", "no samples", "ok"


def group_scenarios(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Scenarios by name (first-appearance order), repeats sorted by ``repeat_index``."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for scenario in doc["scenarios"]:
        groups.setdefault(scenario["name"], []).append(scenario)
    for repeats in groups.values():
        repeats.sort(key=lambda s: s.get("repeat_index") or 0)
    return groups


def _lookup(scenario: dict[str, Any], metric: MetricPath) -> tuple[str, float | None]:
    node: Any = scenario
    parent: Any = None
    for key in metric.path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING, None
        parent, node = node, node[key]
    if node is None:
        return _NO_SAMPLES, None
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise HarnessError(
            f"metric {metric.name!r} ({metric.describe()}) is not a number in scenario "
            f"{scenario.get('name')!r}: it holds {type(node).__name__}"
        )
    counted = metric.path[-1] != "count" and isinstance(parent, dict) and "count" in parent
    if counted and not parent["count"]:
        return _NO_SAMPLES, None
    if metric.throughput and not (scenario.get("metrics") or {}).get("sent", 1):
        return _NO_SAMPLES, None  # nothing went through the trace: no throughput measured
    if math.isnan(node):
        return _NO_SAMPLES, None
    return _OK, float(node)


def _values(repeats: Iterable[dict[str, Any]], metric: MetricPath) -> tuple[list[float], set[str]]:
    values: list[float] = []
    states: set[str] = set()
    for scenario in repeats:
        state, value = _lookup(scenario, metric)
        states.add(state)
        if value is not None:
            values.append(value)
    return values, states


def _known_metrics(doc: dict[str, Any]) -> list[str]:
    names = set(METRIC_ALIASES)

    def walk(node: Any, prefix: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*prefix, key))
        elif isinstance(node, int | float) and not isinstance(node, bool):
            names.add(".".join(prefix))

    for scenario in doc["scenarios"]:
        walk(scenario.get("metrics"), ())
    return sorted(names)


def _unknown_metric(threshold: Threshold, results: dict[str, Any], where: str) -> HarnessError:
    known = _known_metrics(results)
    close = difflib.get_close_matches(threshold.metric.name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return HarnessError(
        f"{threshold.source}: threshold {threshold.text!r} names metric "
        f"{threshold.metric.name!r} ({threshold.metric.describe()}), which {where}{hint} "
        "(see docs/gate.md for metric names)"
    )


def _reference(doc: dict[str, Any]) -> float | None:
    reference = doc.get("reference")
    value = reference.get(_REFERENCE_KEY) if isinstance(reference, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _paced(repeats: Iterable[dict[str, Any]]) -> bool:
    """True when the scenario offered load at a set rate (``metrics.offered_cps`` > 0).

    Its throughput then follows the offered rate (or a deliberately slow consumer), not the
    machine's speed, so scaling it by the reference would add the reference's noise and
    nothing else. A machine too slow to keep the rate makes the run ``invalid`` instead.
    """
    for scenario in repeats:
        offered = (scenario.get("metrics") or {}).get("offered_cps")
        if isinstance(offered, int | float) and not isinstance(offered, bool) and offered > 0:
            return True
    return False


def _current_repeats(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [s for s in doc["scenarios"] if s.get("name") == name]


def _range(values: Sequence[float]) -> str:
    if len(values) == 1:
        return format_value(values[0])
    return f"{format_value(min(values))}..{format_value(max(values))}"


def _worst(threshold: Threshold, values: Sequence[float], limit: float) -> float:
    failing = [v for v in values if not threshold.holds(v, limit)]
    if failing:
        return max(failing, key=lambda v: abs(v - limit))
    if threshold.op in ("<", "<="):
        return max(values)
    if threshold.op in (">", ">="):
        return min(values)
    return values[0]


def _measured(repeats: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in repeats if s["status"] not in _UNMEASURED_STATUSES]
