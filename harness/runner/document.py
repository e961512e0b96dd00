"""The results document of a run: its entries, the summary counts by status and the
per-scenario aggregates over repeats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness import metrics as m
from harness.hypotheses import evaluate_hypotheses
from harness.results import SCHEMA_VERSION, environment, new_run_id
from harness.targets import Target

__all__ = [
    "SUMMARY_KEYS",
    "build_run_document",
    "summarize",
]


def _semantics(target: Target) -> list[dict[str, Any]]:
    """The target's declarations as the results document carries them (judged by them)."""
    as_list = getattr(getattr(target, "semantics", None), "as_list", None)
    return as_list() if callable(as_list) else []


def _library_words(target: Target) -> dict[str, Any]:
    """``{"library": {...}}``: how a built-in library adapter's queue is said in the
    library's words (:meth:`harness.targets.LibraryCode.words`), so that findings read from
    the document name the library's class, not Stageflow's; empty for other targets."""
    words = getattr(getattr(target, "library", None), "words", None)
    return {"library": words()} if callable(words) else {}


SUMMARY_KEYS = {"pass": "passed", "fail": "failed", "error": "errors", "timeout": "timeouts",
                "invalid": "invalid", "skipped": "skipped"}
"""Scenario status -> its count's key in the results document's ``summary``."""


def summarize(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Counts by status: ``passed``, ``failed``, ``errors``, ``timeouts``, ``invalid``,
    ``skipped``; every key is present."""
    out = dict.fromkeys(SUMMARY_KEYS.values(), 0)
    for entry in entries:
        out[SUMMARY_KEYS[entry["status"]]] += 1
    return out


def _aggregates(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per scenario over its repeats: merged histograms and median throughput."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        by_name.setdefault(entry["name"], []).append(entry)
    out: dict[str, Any] = {}
    for name, group in by_name.items():
        latency_hdr = m.merge_histograms(*(e["metrics"].get("latency_hdr", "") for e in group))
        service_hdr = m.merge_histograms(*(e["metrics"].get("service_hdr", "") for e in group))
        throughput = [float(e["metrics"].get("throughput_cps", 0.0)) for e in group]
        out[name] = {
            "repeats": len(group),
            "statuses": [e["status"] for e in group],
            "throughput_cps_median": round(float(np.median(throughput)), 1),
            "throughput_cps_min": round(min(throughput), 1),
            "throughput_cps_max": round(max(throughput), 1),
            "latency_ms": m.histogram_summary(latency_hdr),
            "service_ms": m.histogram_summary(service_hdr),
            "latency_hdr": latency_hdr,
            "service_hdr": service_hdr,
        }
    return out


def build_run_document(
    *, run_id: str | None = None, command: str, target: Target, seed: int, suite: str | None,
    quick: bool, repeat: int, reference_cps: float, entries: Sequence[Mapping[str, Any]],
    created_at: str | None = None, extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The results document of a run (docs/architecture.md, "Results document")."""
    from datetime import UTC, datetime

    capabilities = getattr(target.capabilities, "as_dict", None)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id or new_run_id(),
        "created_at": created_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "target": {"name": target.name, "version": target.version,
                   "capabilities": capabilities() if callable(capabilities) else {},
                   "semantics": _semantics(target), **_library_words(target)},
        "environment": environment(),
        "seed": seed,
        "suite": suite,
        "quick": quick,
        "repeat": repeat,
        "reference": {"asyncio_queue_items_per_s": reference_cps},
        "scenarios": [dict(e) for e in entries],
        "hypotheses": evaluate_hypotheses(entries),
        "summary": summarize(entries),
        "aggregates": _aggregates(entries),
    }
    if extra:
        doc.update(extra)
    return doc
