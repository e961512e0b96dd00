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
"""

from __future__ import annotations

import difflib
import math
import statistics
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.declared import fails_target
from harness.errors import EXIT_BREACH, EXIT_INVALID_RUN, EXIT_OK, HarnessError
from harness.findings import missing_capabilities
from harness.junit import JUnitCase
from harness.stats import Comparison, HistogramSample, Sample, ScalarSample, compare
from harness.thresholds import METRIC_ALIASES, MetricPath, Threshold, parse_threshold

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

PASS, BREACH, SKIP, INVALID = "PASS", "BREACH", "SKIP", "INVALID"
_FAILED_STATUSES = ("fail", "error", "timeout")
TIMING_INVARIANTS = frozenset({"latency_bounded", "pipeline_hops_bounded", "speaker_silenced"})
"""Invariants that hold a duration under a fixed limit (high_load's P99 <= 50 ms). One
repeat of three over the limit while the others are under it is the machine (a neighbour
that took the CPU for a while), the same noise the relative checks test repeats against;
a target that breaks the bound breaks it in most repeats."""
_UNMEASURED_STATUSES = ("invalid", "skipped")  # their numbers do not measure the target
_REFERENCE_KEY = "asyncio_queue_items_per_s"
DEFAULT_ALPHA = 0.01
"""A relative limit is breached only when the test's one-sided p is below this."""
DEFAULT_MIN_REPEATS = 3
"""Measured repeats of a scenario each side needs for a relative check."""
_HISTOGRAMS = {"latency_ms": "latency_hdr", "service_ms": "service_hdr"}
_PERCENTILE_OF = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9,
                  "max": 100.0}


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


# --- thresholds from their sources ----------------------------------------------------------


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start``."""
    start = Path(start).resolve()
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise HarnessError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise HarnessError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise HarnessError(f"{what} {path} is not valid TOML: {exc}") from None


def load_config(path: Path, *, what: str = "config file") -> dict[str, Any]:
    """The gate settings of a TOML file: top-level or under ``[tool.stageflow-stress]``."""
    doc = _read_toml(path, what)
    section = doc.get("tool", {}).get("stageflow-stress")
    if isinstance(section, dict):
        return section
    if what == "pyproject":
        return {}
    return doc


def _threshold_list(config: dict[str, Any], where: str) -> list[str]:
    values = config.get("thresholds", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise HarnessError(f"{where}: 'thresholds' must be a list of strings")
    return values


def load_thresholds(
    cli: Sequence[str] = (),
    *,
    config: Path | None = None,
    pyproject: Path | None = None,
) -> list[Threshold]:
    """Parse thresholds from ``pyproject`` defaults, then ``config``, then the CLI.

    An expression given twice is checked once.

    :raises ThresholdError: an expression does not parse; the message names its source.
    """
    texts: list[tuple[str, str]] = []
    if pyproject is not None:
        settings = load_config(pyproject, what="pyproject")
        where = f"{pyproject} [tool.stageflow-stress]"
        texts += [(t, f"{where} thresholds[{i}]")
                  for i, t in enumerate(_threshold_list(settings, where))]
    if config is not None:
        settings = load_config(config)
        texts += [(t, f"{config} thresholds[{i}]")
                  for i, t in enumerate(_threshold_list(settings, str(config)))]
    texts += [(t, "--threshold") for t in cli]
    thresholds: list[Threshold] = []
    seen: set[str] = set()
    for text, source in texts:
        threshold = parse_threshold(text, source=source)
        if threshold.describe() not in seen:
            seen.add(threshold.describe())
            thresholds.append(threshold)
    return thresholds


# --- evaluation -----------------------------------------------------------------------------


def group_scenarios(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Scenarios by name (first-appearance order), repeats sorted by ``repeat_index``."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for scenario in doc["scenarios"]:
        groups.setdefault(scenario["name"], []).append(scenario)
    for repeats in groups.values():
        repeats.sort(key=lambda s: s.get("repeat_index") or 0)
    return groups


_MISSING, _NO_SAMPLES, _OK = "missing", "no samples", "ok"


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
    if threshold.limit.relative and not any(c.verdict != SKIP for c in checks) and measured:
        raise HarnessError(
            f"{threshold.source}: threshold {threshold.text!r}: the baseline has "
            f"{threshold.metric.name!r} for none of the scenarios it applies to"
        )
    return checks


def _skip(threshold: Threshold, scenario: str, note: str) -> Check:
    return Check(
        expression=threshold.describe(), metric=threshold.metric.name, scenario=scenario,
        baseline=None, current=None, limit=f"{threshold.op} {threshold.limit.describe()}",
        verdict=SKIP,
        note=note, source=threshold.source,
    )


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


def _rerecord(doc: dict[str, Any], repeat: int) -> str:
    """The command that records ``doc`` again with at least ``repeat`` repeats."""
    words = str(doc.get("command") or "stageflow-stress run --quick --seed 1").split()
    if "--repeat" in words and words.index("--repeat") + 1 < len(words):
        at = words.index("--repeat") + 1
        words[at] = str(max(repeat, int(words[at]) if words[at].isdigit() else 0))
    else:
        words += ["--repeat", str(repeat)]
    return " ".join(words)


def _measured(repeats: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in repeats if s["status"] not in _UNMEASURED_STATUSES]


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


# --- reporting ------------------------------------------------------------------------------


def junit_cases(outcome: GateOutcome) -> list[JUnitCase]:
    """One JUnit test case per check: breaches fail, invalid runs error, skips are skipped."""
    cases = []
    for check in outcome.checks:
        message = (
            f"{check.metric} = {check.current_text()} (limit {check.limit}, "
            f"baseline {check.baseline_text()})"
        )
        if check.comparison is not None:
            message += f"; effect {check.effect_text}, p {check.p_text}"
        if check.note:
            message += f"; {check.note}"
        result = {BREACH: "failure", INVALID: "error", SKIP: "skipped"}.get(check.verdict, "pass")
        cases.append(JUnitCase(
            name=f"{check.scenario}: {check.expression}",
            classname=f"stageflow_stress.gate.{check.scenario}",
            outcome=result,
            message=message if result != "pass" else "",
            details=f"source: {check.source}" if result != "pass" else "",
        ))
    return cases


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def gate_markdown(outcome: GateOutcome, header: str, *, report: str | None = None) -> str:
    """A Markdown summary (for ``$GITHUB_STEP_SUMMARY``); ``report`` is the path of the HTML
    report of this run over the baseline, linked under the header."""
    lines = [
        f"### stageflow-stress gate: {outcome.verdict}",
        "",
        header,
        "",
        *([f"Plots of this run over the baseline: [{report}]({report})", ""] if report else []),
        "| Check | Scenario | Baseline | Current | Limit | Effect [95% interval] | p | Verdict "
        "| Note |",
        "|---|---|---:|---:|---|---|---:|---|---|",
    ]
    for c in outcome.checks:
        lines.append(
            f"| `{_md(c.expression)}` | {_md(c.scenario)} | {_md(c.baseline_text())} | "
            f"{_md(c.current_text())} | {_md(c.limit)} | {_md(c.effect_text)} | "
            f"{_md(c.p_text)} | **{c.verdict}** | {_md(c.note)} |"
        )
    return "\n".join(lines) + "\n\n"
