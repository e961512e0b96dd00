"""Reading a results document's scenario runs: their labels, the invariants they broke,
totals and peaks over the runs, their offered rate, and the run's :func:`verdict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.declared import fails_target
from harness.findings import missing_capabilities
from harness.report.markdown import _get, _num, _plural, _rate, _target_text

__all__ = ["verdict"]

_FAILED = ("fail", "error", "timeout")


def _label(scenario: Mapping[str, Any], repeated: bool) -> str:
    if repeated:
        return f"{scenario['name']} #{scenario.get('repeat_index', 0)}"
    return str(scenario["name"])


def _is_repeated(scenarios: Sequence[Mapping[str, Any]]) -> bool:
    names = [s["name"] for s in scenarios]
    return len(names) != len(set(names))


def _failed_invariants(scenario: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [i for i in scenario.get("invariants") or []
            if isinstance(i, Mapping) and fails_target(i)]


def verdict(results: Mapping[str, Any]) -> tuple[str, str]:
    """``(PASS|FAIL|INVALID, one sentence)`` for a results document."""
    scenarios = results["scenarios"]
    target = _target_text(results.get("target"))
    skipped = [s for s in scenarios if s["status"] == "skipped"]
    invalid = [s for s in scenarios if s["status"] == "invalid"]
    failed = [s for s in scenarios if s["status"] in _FAILED]
    ran = len(scenarios) - len(skipped)
    skip_text = ""
    if skipped:
        lacks = sorted({c for s in skipped for c in missing_capabilities(dict(s))})
        skip_text = (f" {_plural(len(skipped), 'scenario run')} "
                     f"{'was' if len(skipped) == 1 else 'were'} skipped: the target lacks "
                     f"{', '.join(lacks)}.")
    if invalid:
        names = ", ".join(sorted({s["name"] for s in invalid}))
        return "INVALID", (
            f"{len(invalid)} of {_plural(ran, 'scenario run')} "
            f"{'was' if len(invalid) == 1 else 'were'} invalid ({names}): the load "
            f"generator saturated, so their numbers do not measure {target}.{skip_text}"
        )
    if failed:
        parts = []
        for s in failed:
            broken = ", ".join(str(i.get("name")) for i in _failed_invariants(s))
            parts.append(f"{s['name']} ({s['status']}" + (f": {broken})" if broken else ")"))
        return "FAIL", (
            f"{len(failed)} of {_plural(ran, 'scenario run')} did not pass against {target}: "
            + "; ".join(parts) + "." + skip_text
        )
    if not ran:
        return "INVALID", "The results hold no scenario that ran." + skip_text
    runs = "The one scenario run" if ran == 1 else f"All {ran} scenario runs"
    return "PASS", f"{runs} passed against {target}.{skip_text}"


def _max_by(scenarios: Sequence[Mapping[str, Any]], *path: str) -> tuple[float, str] | None:
    best: tuple[float, str] | None = None
    for scenario in scenarios:
        value = _num(_get(scenario, "metrics", *path))
        if path[0] in ("latency_ms", "service_ms") and not _get(
            scenario, "metrics", path[0], "count"
        ):
            continue
        if value is not None and (best is None or value > best[0]):
            best = (value, str(scenario["name"]))
    return best


def _peak_rate(scenarios: Sequence[Mapping[str, Any]]) -> str | None:
    """The highest delivered rate, its scenario and the rate that scenario was offered."""
    best: tuple[float, Mapping[str, Any]] | None = None
    for scenario in scenarios:
        value = _num(_get(scenario, "metrics", "throughput_cps"))
        if value is not None and (best is None or value > best[0]):
            best = (value, scenario)
    if best is None:
        return None
    offered = _offered(best[1])
    context = "" if offered is None else f", offered {_rate(offered)} chunks/s"
    return f"{_rate(best[0])} chunks/s ({best[1]['name']}{context})"


_BUFFER_NOTE = ("chunks are written into a buffer and leave it as bytes, so no chunk has a "
                "receipt time to measure: see Service levels and Queue depth and buffer level")


def _writes_into_buffer(scenario: Mapping[str, Any] | None) -> bool:
    """True when the scenario delivered writes into a buffer: accepted, but never received
    as chunks, so they have no latency."""
    if not isinstance(scenario, Mapping):
        return False
    delivered = _num(_get(scenario, "metrics", "delivered"))
    return bool(delivered) and not _get(scenario, "metrics", "latency_ms", "count")


def _total(scenarios: Sequence[Mapping[str, Any]], key: str) -> float | None:
    values = [_num(_get(s, "metrics", key)) for s in scenarios]
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _offered(scenario: Mapping[str, Any]) -> float | None:
    """The scenario's offered rate when it offered load at a set rate (open loop)."""
    offered = _num(_get(scenario, "metrics", "offered_cps"))
    return offered if offered is not None and offered > 0 else None
