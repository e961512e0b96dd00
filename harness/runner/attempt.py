"""One attempt of a scenario in this process: its deadline and grace, the supervised run,
then its entry of the results document: invariants judged by what the target declares,
metrics, what was excused, and the status."""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.contract import Semantics
from harness.declared import excuse
from harness.invariants import INVARIANT_HYPOTHESES, Verdict, check_all, observe
from harness.pauses import PauseRecorder, pauses_report
from harness.runner.context import RunContext, _skip_record
from harness.runner.entry_metrics import DEFAULT_SATURATION_LAG_MS, _empty_metrics, compute_metrics
from harness.runner.supervise import _run_on_fresh_loop, _Supervised
from harness.soak import apply_verdict
from harness.targets import CapabilityMissing, Target, as_target, missing_requirements
from scenarios.registry import ScenarioSpec

__all__ = [
    "DEFAULT_DEADLINE_S",
    "blank_entry",
    "run_scenario",
]

DEFAULT_DEADLINE_S = 30.0


def _deadline_s(params: Mapping[str, Any], timeout_s: float | None) -> float:
    if timeout_s is not None:
        return float(timeout_s)
    value = params.get("deadline_s", DEFAULT_DEADLINE_S)
    return float(value)


def _grace_s(deadline_s: float) -> float:
    return min(0.5, deadline_s / 10)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def run_scenario(
    spec: ScenarioSpec, target: Target, *, quick: bool, seed: int, repeat_index: int = 0,
    overrides: Mapping[str, Any] | None = None, timeout_s: float | None = None,
    reproduction: str | None = None, on_context: Callable[[RunContext], None] | None = None,
) -> dict[str, Any]:
    """Run one attempt of ``spec`` in this process on a fresh event loop.

    Returns the scenario entry of the results document (see docs/architecture.md).
    ``on_context`` is called with the attempt's context before it starts.
    """
    target = as_target(target)
    params = spec.params(quick=quick, overrides=overrides)
    deadline_s = _deadline_s(params, timeout_s)
    grace_s = _grace_s(deadline_s)
    entry = _entry_skeleton(spec, params, seed, repeat_index, reproduction)
    missing = missing_requirements(target, spec.requires)
    if missing:
        entry["status"] = "skipped"
        entry["skipped"] = [
            _skip_record(need, f"required by the scenario; target {target.name!r} " + (
                f"has no {need[5:]}" if need.startswith("part:") else "lacks it"))
            for need in missing]
        entry["duration_ms"] = 0.0
        entry["metrics"] = _empty_metrics()
        return entry
    with PauseRecorder() as gc_pauses:  # collects and freezes first: not on the clock
        started = time.perf_counter_ns()
        cut_ns = started + int((deadline_s - grace_s) * 1e9)
        ctx = RunContext(spec=spec, target=target, params=params, quick=quick, seed=seed,
                         deadline_ns=cut_ns)
        ctx.expectations.deadline_s = deadline_s
        if on_context is not None:
            on_context(ctx)
        try:
            supervised = _run_on_fresh_loop(ctx, cut_ns, grace_s)
        finally:
            if ctx.memory_monitor is not None:
                ctx.memory_monitor.stop()
    duration_ms = (time.perf_counter_ns() - started) / 1e6
    ctx.expectations.pauses = gc_pauses.intervals()
    entry["gc"] = pauses_report(gc_pauses.pauses, started)
    entry = _finish(entry, ctx, supervised, duration_ms, reproduction)
    if ctx.memory_monitor is not None:
        apply_verdict(entry, ctx.memory_monitor.report())
    return entry


def _entry_skeleton(spec: ScenarioSpec, params: Mapping[str, Any], seed: int,
                    repeat_index: int, reproduction: str | None) -> dict[str, Any]:
    return {
        "name": spec.name, "category": spec.category, "hypotheses": list(spec.hypotheses),
        "description": spec.description, "status": "pass", "duration_ms": 0.0,
        "repeat_index": repeat_index, "seed": seed, "params": dict(params),
        "metrics": {}, "invariants": [], "error": None, "skipped": [],
        "invalid_reason": None, "reproduction": reproduction,
    }


def blank_entry(spec: ScenarioSpec, params: Mapping[str, Any], *, seed: int,
                repeat_index: int = 0, reproduction: str | None = None) -> dict[str, Any]:
    """A scenario entry with empty metrics, for an attempt that never reported (a worker
    process that died or was killed): the caller sets its status and what went wrong."""
    entry = _entry_skeleton(spec, params, seed, repeat_index, reproduction)
    entry["metrics"] = _empty_metrics()
    return entry


def _finish(entry: dict[str, Any], ctx: RunContext, sup: _Supervised, duration_ms: float,
            reproduction: str | None) -> dict[str, Any]:
    expect = ctx.expectations
    expect.hung = sup.hung
    expect.abandoned = sup.abandoned
    # items still queued when the scenario was cut at its deadline, or stopped because the
    # target lacked something it needed (a close() to end the stream), were never lost
    expect.stranded_ok = sup.cut or isinstance(sup.error, CapabilityMissing)
    expect.lag_limit_ms = float(ctx.params.get("saturation_lag_ms", DEFAULT_SATURATION_LAG_MS))
    obs = observe(ctx.trace, stranded=sup.stranded)
    verdicts = [_judged(_attributed(v, ctx.spec, reproduction), expect.semantics)
                for v in check_all(obs, expect) + ctx.verdicts]
    entry["invariants"] = [v.as_dict() for v in verdicts]
    entry["metrics"] = compute_metrics(obs, ctx, expect, duration_ms)
    entry["duration_ms"] = round(duration_ms, 3)
    entry["skipped"] = list(ctx.skipped)
    saturation = entry["metrics"]["generator"]
    excused = [{"check": v.name, "detail": v.excused} for v in verdicts if v.excused]
    excused += [{"check": v.name, "detail": v.as_declared["reason"],
                 "declarations": v.as_declared["declarations"]}
                for v in verdicts if v.as_declared is not None]
    if saturation.get("late_by_gc"):
        excused.append({"check": "saturation",
                        "detail": f"{saturation['late_by_gc']} sends late only by a GC pause "
                                  "not counted as the generator falling behind"})
    entry["excused"] = excused
    reasons = list(ctx.invalid_reasons)
    if saturation["saturated"]:
        reasons.append(
            f"load generator fell behind its own schedule: {saturation['late_fraction']:.1%} "
            f"of sends started more than {saturation['lag_limit_ms']:g} ms late "
            f"(max {saturation['schedule_lag_ms_max']:.1f} ms)")
    error = sup.error
    lacked = False
    if isinstance(error, CapabilityMissing):  # the scenario stopped where the target lacked it
        lacked = True
        entry["skipped"].append({"capability": error.capability, "reason": str(error)})
        error = None
    if error is not None:
        where = f" in task {sup.error_task!r}" if sup.error_task != ctx.name else ""
        entry["error"] = _error_text(error) + where
        entry["traceback"] = "".join(traceback.format_exception(error)).rstrip()
    entry["invalid_reason"] = "; ".join(reasons) or None
    entry["cut_at_deadline"] = sup.cut
    if sup.loop_messages:
        entry["loop_messages"] = sup.loop_messages[:10]
    entry["status"] = _status(verdicts, sup, entry["error"], reasons, lacked=lacked)
    return entry


def _attributed(verdict: Verdict, spec: ScenarioSpec, reproduction: str | None) -> Verdict:
    """The verdict with its hypotheses resolved against the scenario's and, when it failed,
    the reproduction command."""
    wanted = verdict.hypotheses or INVARIANT_HYPOTHESES.get(verdict.name.split("[")[0], ())
    hyps = tuple(h for h in wanted if h in spec.hypotheses) or tuple(spec.hypotheses)
    return dataclasses.replace(
        verdict, hypotheses=hyps,
        reproduction=verdict.reproduction or (None if verdict.passed else reproduction))


def _judged(verdict: Verdict, semantics: Semantics) -> Verdict:
    """The verdict with ``as_declared`` set when the target declares what it saw broken
    (:func:`harness.declared.excuse`): it then fails no status."""
    why = excuse(passed=verdict.passed, defects=verdict.defects, clause=verdict.clause,
                 unattributed=bool(verdict.unattributed or verdict.unattributed_stack),
                 semantics=semantics, detail=verdict.detail)
    return verdict if why is None else dataclasses.replace(verdict, as_declared=why)


def _status(verdicts: Sequence[Verdict], sup: _Supervised, error: str | None,
            reasons: Sequence[str], *, lacked: bool) -> str:
    if sup.abandoned:
        return "timeout"
    if error is not None:
        return "error"
    if any(not v.passed and v.as_declared is None for v in verdicts):
        return "fail"
    if reasons:
        return "invalid"
    if lacked:
        return "skipped"
    return "pass"
