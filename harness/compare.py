"""Compare: the same suite on several targets, side by side.

Every target runs the same scenarios with the same seed and parameters through the
:class:`~harness.runner.Runner`; each run is a normal results document. The comparison
is the ``compare`` section (docs/architecture.md, "Compare section"), added to the first
target's document, one row per scenario with, for each target, status, throughput,
P50/P99 latency, lost and dropped chunks and the number of bug findings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.contract import Semantics
from harness.errors import HarnessError
from harness.findings import findings_from_run, judge_findings
from harness.targets import Target, load_target

__all__ = ["COMPARE_FIELDS", "compare_rows", "parse_targets", "run_compare"]

COMPARE_FIELDS = ("status", "throughput_cps", "p50_ms", "p99_ms", "lost", "dropped",
                  "findings", "skipped", "latency_hdr", "service_hdr")
"""Per target and scenario, in the ``compare`` section's rows."""


def parse_targets(text: str) -> list[str]:
    """``"stageflow_core,stageflow"`` -> the list of specs (two or more, distinct).

    :raises HarnessError: fewer than two targets, an empty name, or a repeated one.
    """
    specs = [part.strip() for part in text.split(",")]
    if any(not spec for spec in specs):
        raise HarnessError(f"--targets {text!r}: empty target name")
    if len(specs) < 2:
        raise HarnessError(f"--targets {text!r}: give at least two targets, comma-separated")
    if len(set(specs)) != len(specs):
        raise HarnessError(f"--targets {text!r}: a target is named twice")
    return specs


def _cell(entry: Mapping[str, Any], findings: int) -> dict[str, Any]:
    metrics = entry.get("metrics") or {}
    latency = metrics.get("latency_ms") or {}
    counted = bool(latency.get("count"))
    skipped = [s.get("capability") or s.get("part") for s in entry.get("skipped") or []
               if isinstance(s, dict)]
    return {
        "status": entry["status"],
        "throughput_cps": round(float(metrics.get("throughput_cps") or 0.0), 1),
        "p50_ms": latency.get("p50") if counted else None,
        "p99_ms": latency.get("p99") if counted else None,
        "lost": int(metrics.get("lost") or 0),
        "dropped": int(metrics.get("dropped") or 0),
        "findings": findings,
        "skipped": skipped,
        # the histograms, so the HTML report overlays the targets' percentile spectra
        "latency_hdr": metrics.get("latency_hdr") or None,
        "service_hdr": metrics.get("service_hdr") or None,
    }


def compare_rows(docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per scenario (first document's order): ``{"scenario", <target>: cell}``.

    ``findings`` counts the bugs the ledgers would file: each run's findings judged by its
    target's declared semantics (a behaviour the target declares is not a bug)."""
    names: list[str] = []
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        per_scenario: dict[str, int] = {}
        semantics = Semantics.from_list(doc["target"].get("semantics"))
        filed, _withdrawn = judge_findings(findings_from_run(doc), semantics)
        for finding in filed:
            if finding.kind == "bug":  # counted in every scenario that saw it
                seen = {str(r.get("scenario", "")) for r in finding.evidence["found_by"]}
                for scenario in seen or {str(finding.evidence.get("scenario", ""))}:
                    per_scenario[scenario] = per_scenario.get(scenario, 0) + 1
        target = doc["target"]["name"]
        for entry in doc["scenarios"]:
            if entry["name"] not in cells:
                names.append(entry["name"])
                cells[entry["name"]] = {}
            cells[entry["name"]][target] = _cell(entry, per_scenario.get(entry["name"], 0))
    return [{"scenario": name, **cells[name]} for name in names]


def run_compare(
    specs: Sequence[str], *, suite: str, quick: bool, seed: int, timeout_s: float | None,
    command: str, on_start: Callable[[str, str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``suite`` on every target; returns the results documents, the first one carrying
    the ``compare`` section.

    :raises HarnessError: unknown suite or target (before anything runs).
    """
    import scenarios  # noqa: F401  (registers the built-in scenarios)
    from harness.metrics import reference_queue_throughput
    from harness.runner import Runner, build_run_document
    from scenarios.registry import UnknownSuite, suite_members

    try:
        members = suite_members(suite)
    except UnknownSuite as exc:
        raise HarnessError(str(exc)) from None
    targets: list[tuple[str, Target]] = [(spec, load_target(spec)) for spec in specs]
    reference_cps = reference_queue_throughput()
    docs: list[dict[str, Any]] = []
    for spec, target in targets:
        def reproduce(scenario_spec: Any, _repeat: int, spec: str = spec) -> str:
            quick_flag = " --quick" if quick else ""
            return (f"stageflow-stress run {scenario_spec.name} --target {spec} "
                    f"--seed {seed}{quick_flag}")

        runner = Runner(
            target=target, target_spec=spec, quick=quick, seed=seed, timeout_s=timeout_s,
            reproduce=reproduce,
            on_start=(lambda s, _r, spec=spec: on_start(spec, s.name)) if on_start else None,
        )
        entries = runner.run(members)
        docs.append(build_run_document(
            command=command, target=target, seed=seed, suite=suite, quick=quick, repeat=1,
            reference_cps=reference_cps, entries=entries))
    docs[0]["compare"] = {
        "suite": suite,
        "quick": quick,
        "seed": seed,
        "targets": [{"name": d["target"]["name"], "version": d["target"]["version"],
                     "run_id": d["run_id"], "summary": d["summary"]} for d in docs],
        "fields": list(COMPARE_FIELDS),
        "rows": compare_rows(docs),
    }
    return docs
