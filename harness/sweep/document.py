"""The results document of a sweep: every cell's entry, the cells pooled over seeds, and
the best pooled cell under an SLO.

Shape (``kind: "sweep"``; also a valid results document, schema version 1): the usual top
level (``run_id``, ``command``, ``environment``, ``seed`` = the first run seed, ``target``
= the only target or a ``+``-joined name when there are several, ``scenarios`` = one entry
per cell in cell order, each with ``cell``, ``target`` and ``worker`` added) plus
``sweep``::

    sweep.format        1
    sweep.spec          what was asked: scenarios, targets, seeds, mode, axes (name, values)
    sweep.executor      kind, workers (and Ray's address and start-up time)
    sweep.wall_s        time from the first cell started to the last one done
    sweep.cells[i]      index, target, scenario, params, seed, status, group, duration_ms,
                        reproduction, and the headline figures (p50_ms, p99_ms,
                        throughput_cps, sent, delivered, dropped, lost)
    sweep.groups[j]     the cells that differ only by seed, pooled: index, target,
                        scenario, params, cells, statuses, status (the worst),
                        metrics (sent/delivered/dropped/lost/duplicated/refused summed,
                        slo.drop_ratio = dropped / sent, throughput_cps the median
                        over seeds, latency_ms and service_ms read from the merged HDR
                        histograms latency_hdr and service_hdr, memory.peak_bytes the
                        max), slo {met, checks[{threshold, value, limit, passed}]}
    sweep.slo           thresholds, objective {direction, metric}, met (group count),
                        best (group index or null)
    sweep.axes          for plots: every swept parameter with its values in order

A heat map of ``metric`` over parameters ``x`` and ``y`` for one target and scenario is
``{(g.params[x], g.params[y]): resolve(g.metrics, metric) for g in groups}``.

Pooling never averages percentiles: the groups' latency figures are read from the merge
of their cells' HDR histograms (:func:`harness.metrics.merge_histograms`).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from harness import metrics as m
from harness.errors import HarnessError
from harness.sweep.spec import Cell, SweepSpec
from harness.thresholds import Threshold, parse_threshold, resolve_metric

__all__ = [
    "SWEEP_FORMAT",
    "Objective",
    "build_sweep_document",
    "describe_params",
    "metric_value",
    "parse_objective",
    "parse_slo",
    "pool_groups",
    "worst_status",
]

SWEEP_FORMAT = 1
_SEVERITY = ("timeout", "error", "fail", "invalid", "skipped", "pass")
_COUNTS = ("sent", "delivered", "dropped", "lost", "duplicated", "refused")


def worst_status(statuses: Sequence[str]) -> str:
    """The most severe of ``statuses`` (timeout, error, fail, invalid, skipped, pass)."""
    return min(statuses, key=_SEVERITY.index) if statuses else "pass"


@dataclass(frozen=True)
class Objective:
    """Which pooled cell is best among those that meet the SLO: ``direction`` of ``metric``."""

    direction: str  # "min" or "max"
    metric: str

    def describe(self) -> str:
        return f"{self.direction} {self.metric}"


def parse_slo(texts: Sequence[str]) -> list[Threshold]:
    """``--slo`` thresholds in the gate's grammar (absolute limits only).

    :raises HarnessError: a threshold that does not parse, or one relative to a baseline.
    """
    out = []
    for text in texts:
        threshold = parse_threshold(text, source="--slo")
        if threshold.limit.relative:
            raise HarnessError(f"--slo {text!r}: a sweep has no baseline; give an absolute "
                               "limit such as 'latency.p99_ms < 20'")
        out.append(threshold)
    return out


def parse_objective(text: str | None, slo: Sequence[Threshold]) -> Objective | None:
    """``min:METRIC`` / ``max:METRIC``; by default the first SLO's metric, minimised for
    ``<``/``<=`` and maximised for ``>``/``>=`` (the cell with the most headroom).

    :raises HarnessError: not ``min:`` or ``max:`` followed by a metric name.
    """
    if text is None:
        if not slo:
            return None
        first = slo[0]
        return Objective("max" if first.op in (">", ">=") else "min", first.metric.name)
    direction, sep, metric = text.partition(":")
    if not sep or direction not in ("min", "max") or not metric.strip():
        raise HarnessError(f"--objective {text!r}: expected min:METRIC or max:METRIC, e.g. "
                           "max:throughput")
    return Objective(direction, metric.strip())


def metric_value(obj: Mapping[str, Any], name: str) -> float | None:
    """The value of metric ``name`` (the gate's names: ``latency.p99_ms``, ``dropped``,
    ``slo.drop_ratio``...) in a scenario entry or a pooled group; None when absent."""
    node: Any = obj
    for part in resolve_metric(name).path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float):
        return None
    return float(node)


def _key(cell_params: Mapping[str, Any]) -> bytes:
    return orjson.dumps(dict(cell_params), option=orjson.OPT_SORT_KEYS)


def _pooled_metrics(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    metrics = [e.get("metrics") or {} for e in entries]
    out: dict[str, Any] = {key: sum(int(x.get(key) or 0) for x in metrics) for key in _COUNTS}
    latency_hdr = m.merge_histograms(*(x.get("latency_hdr") or "" for x in metrics))
    service_hdr = m.merge_histograms(*(x.get("service_hdr") or "" for x in metrics))
    throughput = [float(x.get("throughput_cps") or 0.0) for x in metrics]
    out.update(
        throughput_cps=round(statistics.median(throughput), 1) if throughput else 0.0,
        throughput_cps_min=round(min(throughput), 1) if throughput else 0.0,
        throughput_cps_max=round(max(throughput), 1) if throughput else 0.0,
        latency_ms=m.histogram_summary(latency_hdr),
        service_ms=m.histogram_summary(service_hdr),
        latency_hdr=latency_hdr, service_hdr=service_hdr,
        slo={"drop_ratio": round(out["dropped"] / out["sent"], 6) if out["sent"] else 0.0},
        memory={"peak_bytes": max((int((x.get("memory") or {}).get("peak_bytes") or 0)
                                   for x in metrics), default=0)},
    )
    return out


def pool_groups(cells: Sequence[Cell], entries: Sequence[Mapping[str, Any]]
                ) -> list[dict[str, Any]]:
    """Cells that differ only by seed, pooled (first-seen order); see the module docstring."""
    groups: dict[tuple[str, str, bytes], dict[str, Any]] = {}
    members: dict[tuple[str, str, bytes], list[Mapping[str, Any]]] = {}
    for cell, entry in zip(cells, entries, strict=True):
        key = (cell.target, cell.scenario, _key(cell.params))
        if key not in groups:
            groups[key] = {"index": len(groups), "target": cell.target,
                           "scenario": cell.scenario, "params": dict(cell.params),
                           "seeds": [], "cells": [], "statuses": []}
            members[key] = []
        group = groups[key]
        group["seeds"].append(cell.seed)
        group["cells"].append(cell.index)
        group["statuses"].append(entry["status"])
        members[key].append(entry)
    out = []
    for key, group in groups.items():
        group["status"] = worst_status(group["statuses"])
        group["duration_ms"] = round(sum(float(e.get("duration_ms") or 0.0)
                                         for e in members[key]), 3)
        group["metrics"] = _pooled_metrics(members[key])
        out.append(group)
    return out


def _judge(group: dict[str, Any], slo: Sequence[Threshold]) -> None:
    checks = []
    for threshold in slo:
        if threshold.scenario and threshold.scenario != group["scenario"]:
            continue
        value = metric_value(group, threshold.metric.name)
        limit = threshold.limit.value(None)
        checks.append({"threshold": threshold.describe(), "value": value, "limit": limit,
                       "passed": value is not None and threshold.holds(value, limit)})
    met = group["status"] == "pass" and all(c["passed"] for c in checks) if slo else None
    group["slo"] = {"met": met, "checks": checks}


def _best(groups: Sequence[dict[str, Any]], slo: Sequence[Threshold],
          objective: Objective | None) -> int | None:
    if objective is None:
        return None
    eligible = [g for g in groups
                if (g["slo"]["met"] if slo else g["status"] == "pass")
                and metric_value(g, objective.metric) is not None]
    if not eligible:
        return None
    sign = 1.0 if objective.direction == "min" else -1.0
    best = min(eligible, key=lambda g: (sign * (metric_value(g, objective.metric) or 0.0),
                                        g["index"]))
    return int(best["index"])


def _headline(cell: Cell, entry: Mapping[str, Any], group: int) -> dict[str, Any]:
    metrics = entry.get("metrics") or {}
    latency = metrics.get("latency_ms") or {}
    counted = bool(latency.get("count"))
    return {
        **cell.as_dict(), "status": entry["status"], "group": group,
        "duration_ms": entry.get("duration_ms", 0.0),
        "p50_ms": latency.get("p50") if counted else None,
        "p99_ms": latency.get("p99") if counted else None,
        "throughput_cps": metrics.get("throughput_cps", 0.0),
        **{key: int(metrics.get(key) or 0) for key in ("sent", "delivered", "dropped", "lost")},
    }


def _axes(spec: SweepSpec, cells: Sequence[Cell]) -> list[dict[str, Any]]:
    out = []
    for axis in spec.axes:
        values: list[Any] = []
        for cell in cells:
            if axis.name in cell.params and cell.params[axis.name] not in values:
                values.append(cell.params[axis.name])
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            values.sort()
        out.append({"name": axis.name, "values": values})
    return out


def build_sweep_document(
    *, spec: SweepSpec, cells: Sequence[Cell], entries: Sequence[Mapping[str, Any]],
    command: str, executor: Mapping[str, Any], wall_s: float, reference_cps: float,
    slo: Sequence[Threshold] = (), objective: Objective | None = None,
    targets: Sequence[Mapping[str, Any]] = (), run_id: str | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """The sweep's results document (see the module docstring)."""
    from datetime import UTC, datetime

    from harness.hypotheses import evaluate_hypotheses
    from harness.results import SCHEMA_VERSION, environment, new_run_id
    from harness.runner import summarize

    groups = pool_groups(cells, entries)
    for group in groups:
        _judge(group, slo)
    group_of = {index: g["index"] for g in groups for index in g["cells"]}
    best = _best(groups, slo, objective)
    if len(targets) == 1:
        target = dict(targets[0])
    else:
        target = {"name": "+".join(str(t.get("name")) for t in targets), "version": "",
                  "capabilities": {}}
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "sweep",
        "run_id": run_id or new_run_id(),
        "created_at": created_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "target": target,
        "environment": environment(),
        "seed": spec.seeds[0],
        "suite": None,
        "quick": spec.quick,
        "repeat": 1,
        "reference": {"asyncio_queue_items_per_s": reference_cps},
        "scenarios": [dict(e) for e in entries],
        "hypotheses": evaluate_hypotheses(entries),
        "summary": summarize(entries),
        "sweep": {
            "format": SWEEP_FORMAT,
            "spec": spec.as_dict(),
            "targets": [dict(t) for t in targets],
            "executor": dict(executor),
            "wall_s": round(wall_s, 3),
            "cells": [_headline(c, e, group_of[c.index])
                      for c, e in zip(cells, entries, strict=True)],
            "groups": groups,
            "axes": _axes(spec, cells),
            "slo": {"thresholds": [t.describe() for t in slo],
                    "objective": None if objective is None else {
                        "direction": objective.direction, "metric": objective.metric},
                    "met": sum(1 for g in groups if g["slo"]["met"]),
                    "best": best},
        },
    }


def describe_params(params: Mapping[str, Any]) -> str:
    """``max_size=50 rate_cps=2000`` (JSON values), or ``defaults`` when none is swept."""
    if not params:
        return "defaults"
    return " ".join(f"{k}={orjson.dumps(v).decode()}" for k, v in params.items())
