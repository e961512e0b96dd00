"""An attempt in a child interpreter (``python -m harness.runner JOB.json``): the parent
writes the job, the child runs it and writes the entry; an event loop wedged past the
deadline is dumped by ``faulthandler`` or killed at a hard deadline (status ``timeout``)."""

from __future__ import annotations

import faulthandler
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.invariants import Verdict
from harness.jsonio import read_json, write_json_atomic
from harness.runner.attempt import _deadline_s, _entry_skeleton, run_scenario
from harness.runner.discovery import import_scenario_modules
from harness.runner.entry_metrics import _empty_metrics
from harness.targets import load_target
from scenarios.registry import ScenarioSpec, get_scenario

__all__: list[str] = []

_CHILD_STARTUP_S = 10.0  # interpreter start + imports, before the child's own deadline


def _run_isolated(spec: ScenarioSpec, target_spec: str, *, modules: Sequence[str],
                  quick: bool, seed: int, repeat_index: int, overrides: Mapping[str, Any],
                  timeout_s: float | None, reproduction: str | None,
                  inject: str | None = None) -> dict[str, Any]:
    params = spec.params(quick=quick, overrides=overrides)
    deadline_s = _deadline_s(params, timeout_s)
    with tempfile.TemporaryDirectory(prefix="stageflow-stress-") as tmp:
        result_path = Path(tmp) / "result.json"
        job = {
            "scenario": spec.name, "target": target_spec, "modules": list(modules),
            "quick": quick, "seed": seed, "repeat_index": repeat_index,
            "overrides": dict(overrides), "timeout_s": timeout_s,
            "reproduction": reproduction, "result_path": str(result_path),
            "inject": inject,
        }
        job_path = Path(tmp) / "job.json"
        write_json_atomic(job_path, job)
        hard_s = deadline_s + _CHILD_STARTUP_S + 30.0
        started = time.perf_counter_ns()
        env = dict(os.environ, PYTHONFAULTHANDLER="0")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "harness.runner", str(job_path)],
                capture_output=True, text=True, timeout=hard_s, env=env, check=False,
            )
            stderr, killed = proc.stderr, False
        except subprocess.TimeoutExpired as exc:
            raw = exc.stderr or ""
            stderr, killed = raw.decode(errors="replace") if isinstance(raw, bytes) else raw, True
        duration_ms = (time.perf_counter_ns() - started) / 1e6
        if result_path.exists():
            return dict(read_json(result_path, what="isolated result"))
    entry = _entry_skeleton(spec, params, seed, repeat_index, reproduction)
    entry["metrics"] = _empty_metrics()
    entry["duration_ms"] = round(duration_ms, 3)
    wedged = killed or "Timeout (" in stderr
    tail = stderr.strip()[-6000:]
    if wedged:
        how = "killed at the hard deadline" if killed else "dumped by faulthandler and ended"
        verdict = Verdict(
            "no_hang", False,
            f"event loop wedged past the {deadline_s:g} s deadline (isolated process {how})",
            stack=tail or None, reproduction=reproduction)
        entry["invariants"] = [verdict.as_dict()]
        entry["status"] = "timeout"
    else:
        last = tail.splitlines()[-1] if tail else "no output"
        entry["status"] = "error"
        entry["error"] = f"isolated process ended without a result: {last}"
        entry["traceback"] = tail
    return entry


def _child_main(job_path: str) -> int:
    job = read_json(Path(job_path), what="isolation job")
    import_scenario_modules(job["modules"])
    target = load_target(job["target"])
    if job.get("inject"):
        from harness.inject import inject

        target = inject(target, job["inject"])
    spec = get_scenario(job["scenario"])
    params = spec.params(quick=job["quick"], overrides=job["overrides"])
    deadline_s = _deadline_s(params, job["timeout_s"])
    faulthandler.dump_traceback_later(deadline_s + 1.0, exit=True, file=sys.stderr)
    entry = run_scenario(
        spec, target, quick=job["quick"], seed=job["seed"], repeat_index=job["repeat_index"],
        overrides=job["overrides"], timeout_s=job["timeout_s"],
        reproduction=job["reproduction"],
    )
    faulthandler.cancel_dump_traceback_later()
    entry["isolated"] = True
    write_json_atomic(Path(job["result_path"]), entry)
    return 0
