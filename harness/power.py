"""Gate power: how often the gate raises a false alarm, and how often it catches a real
regression, measured on this machine (``stageflow-stress bench --gate-power``).

The procedure mirrors CI: each *run* is what ``.ci/run`` records (the gate scenarios, quick
parameters, ``repeat`` repeats, seed 1), in a process of its own as CI's run and the
committed baseline are, and each *gate* is :func:`harness.gate.evaluate`
with the thresholds, ``alpha`` and ``min_repeats`` of ``[tool.stageflow-stress]``.

- A clean run ``C0`` first, then for ``i = 1..runs``: a clean run ``Ci`` gated against
  ``C(i-1)`` (an **A/A pair**: any breach is a false alarm), then one run per regression
  kind with the kind injected (harness/inject.py), each gated against ``Ci`` (a breach is a
  detection). Clean and injected runs alternate, so a change in the machine's load falls
  on both.
- A/A runs run every gate scenario, as CI does: more scenarios can only add false alarms.
  Injected runs run :data:`DETECTION_SCENARIOS` only (to keep the measurement within an
  hour): fewer scenarios can only miss more, so the detection rates are lower bounds of
  what the whole CI run catches.
- Two kinds are sized on this machine so that they mean the same everywhere: the **2x
  P99** kind delays 2 % of gets by the clean P99 of the ``baseline`` scenario in ``C0``.
  The **20 % capacity drop** adds to every put the work that takes the capacity
  scenario's ``capacity.queue_ratio`` to x0.8, found by measuring it
  (:func:`_size_capacity_drop`); a method wrapper itself costs a fifth
  of an item on a queue as fast as ours, so this kind is compared with a baseline run that
  carries the same wrapper doing nothing (``put+1ns``): the difference between the two is
  the added work alone.
- A clean run with an ``invalid`` scenario (the load generator could not keep its
  schedule: CI would exit 3 and be run again) is run again, up to three times; the reruns
  are counted (``clean_reruns``). A gate that exits 3 or refuses its baseline anyway is
  counted as ``invalid``, not as an alarm or a detection, and iterations are added until
  every count reaches ``runs`` (at most five more).
- A breach made only of ``status == pass`` checks (a scenario's own invariant failed,
  e.g. high_load's absolute P99 bound on an overloaded machine) is an alarm too, and is
  counted apart as ``status_only``: it says nothing about the statistics.

The document lists every gate's verdict and breached checks with their effects, so the
figures can be checked one by one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import EXIT_BREACH, EXIT_INVALID_RUN, HarnessError
from harness.gate import GateOutcome, evaluate
from harness.thresholds import Threshold

__all__ = ["DETECTION_SCENARIOS", "GATE_SCENARIOS", "KINDS", "PowerKind", "run_power"]

GATE_SCENARIOS = ("transform007", "capacity")
"""What a clean power run runs: the transform007 suite and the capacity scenario, as CI does."""
DETECTION_SCENARIOS = ("baseline", "capacity")
"""What an injected power run runs (a subset: detection rates are lower bounds)."""
NULL_WRAPPER = "put+1ns"
SEED = 1
SIZING_STEPS = 3
EFFECTS_KEPT = ("capacity.queue_ratio", "capacity.buffer_depth_ratio", "latency.p99_ms",
                "service.p50_ms")
"""Metrics whose effect every gate records, breached or not (what the injection did)."""
MAX_EXTRA_ITERATIONS = 5
"""Iterations added when invalid runs left fewer than ``runs`` counted gates of a kind."""


@dataclass(frozen=True)
class PowerKind:
    """A regression the gate should catch: ``inject`` is an ``--inject`` expression, or
    ``None`` when it is sized from the first clean run (:func:`_sized`)."""

    key: str
    description: str
    inject: str | None
    baseline_inject: str | None = None
    """Injected into the baseline of this kind too (the wrapper without the regression)."""


KINDS: tuple[PowerKind, ...] = (
    PowerKind("put+20us", "20 µs of extra work in every put", "put+20us"),
    PowerKind("get~0.3ms", "0.3 ms sleep in every get", "get~0.3ms"),
    PowerKind("read:copy", "StreamingBuffer.read copies the whole ring (cost grows with depth)",
              "read:copy"),
    PowerKind("p99x2", "2x P99 latency: 2 % of gets delayed by the clean P99", None),
    PowerKind("capacity-20%", "20 % capacity drop: capacity.queue_ratio x0.8", None,
              baseline_inject=NULL_WRAPPER),
)


_MAIN = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"
RUN_TIMEOUT_S = 600.0
"""A recorded run that takes longer than this is stuck: the measurement stops with an error."""


class _Recorder:
    """Records runs as CI does: each one a ``stageflow-stress run`` in a process of its own
    (its memory layout, hash seed and warm-up its own, as CI's run and the committed
    baseline's are), with ``--no-ledger``; returns its results document."""

    def __init__(self, target_spec: str, *, quick: bool, repeat: int) -> None:
        import scenarios  # noqa: F401  (registers the built-in scenarios)
        from harness.runner import configured_scenario_modules, import_scenario_modules
        from harness.targets import load_target
        from scenarios.registry import get_scenario, suite_members

        import_scenario_modules(configured_scenario_modules())
        load_target(target_spec)  # bad input is refused here, not in a child
        self.target_spec = target_spec
        self.quick = quick
        self.repeat = repeat
        self.specs = [*suite_members(GATE_SCENARIOS[0]), get_scenario(GATE_SCENARIOS[1])]
        self.detection_specs = [get_scenario(name) for name in DETECTION_SCENARIOS]
        self.capacity_spec = get_scenario("capacity")

    def run(self, inject: str | None = None, *, specs: Sequence[Any] | None = None,
            repeat: int | None = None) -> dict[str, Any]:
        import subprocess
        import sys
        import tempfile
        from pathlib import Path

        import orjson

        names = (["--suite", GATE_SCENARIOS[0], GATE_SCENARIOS[1]] if specs is None
                 else [spec.name for spec in specs])
        args = ["run", *names, "--target", self.target_spec, "--seed", str(SEED),
                "--repeat", str(repeat or self.repeat), "--no-ledger", "--no-live",
                *(["--quick"] if self.quick else []),
                *(["--inject", inject] if inject else [])]
        with tempfile.TemporaryDirectory(prefix="gate-power-") as tmp:
            try:
                done = subprocess.run([sys.executable, "-c", _MAIN, *args, "--results-dir",
                                       tmp], capture_output=True, text=True,
                                      timeout=RUN_TIMEOUT_S, check=False)
            except subprocess.TimeoutExpired as exc:
                raise HarnessError(f"gate power: stageflow-stress {' '.join(args)} took over "
                                   f"{RUN_TIMEOUT_S:g} s") from exc
            latest = Path(tmp) / "latest.json"
            if not latest.exists():
                said = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise HarnessError(f"gate power: stageflow-stress {' '.join(args)} wrote no "
                                   f"results (exit {done.returncode}): {said}")
            return orjson.loads(latest.read_bytes())


def _queue_ratio(doc: dict[str, Any]) -> float:
    entries = [s["metrics"]["capacity"]["queue_ratio"] for s in doc["scenarios"]
               if s["name"] == "capacity" and (s.get("metrics") or {}).get("capacity")]
    if not entries:
        raise HarnessError("gate power: a sizing run did not measure capacity")
    return float(statistics.median(entries))


def _size_capacity_drop(recorder: _Recorder, say: Callable[[str], None]) -> tuple[str, str]:
    """The work per put that takes ``capacity.queue_ratio`` to x0.8, found with the metric
    the gate checks: the capacity scenario, each candidate run twice between three runs with
    the null wrapper (null, candidate, null, candidate, null; the last null opens the next
    step), its effect the median of the nulls over the median of the candidates, so a load
    that comes and goes during one run moves one of five. 1 / ratio grows linearly with the
    work per item, so the slope fitted through the steps (least squares through the origin)
    of ``null / candidate - 1`` gives the next candidate and the answer (0.25: x0.8)."""

    def ratio(inject: str) -> float:
        return _queue_ratio(recorder.run(inject, specs=[recorder.capacity_spec], repeat=1))

    extra = 250.0
    points: list[tuple[float, float]] = []
    nulls = [ratio(NULL_WRAPPER)]
    for step in range(SIZING_STEPS):
        candidate = f"put+{1 + round(extra)}ns"
        say(f"sizing capacity-20% ({step + 1}/{SIZING_STEPS}): {candidate}")
        slowed = []
        for _ in range(2):
            slowed.append(ratio(candidate))
            nulls.append(ratio(NULL_WRAPPER))
        points.append((extra, statistics.median(nulls) / statistics.median(slowed) - 1.0))
        nulls = nulls[-1:]
        slope = sum(x * y for x, y in points) / sum(x * x for x, _ in points)
        if slope > 0:
            extra = min(4 * extra, max(extra / 4, 0.25 / slope))
        else:  # noise hid the work: try more
            extra *= 2
    expression = f"put+{1 + round(extra)}ns"
    shown = ", ".join(f"+{round(x)}ns: x{1 / (1 + y):.2f}" for x, y in points)
    return expression, (f"capacity.queue_ratio against {NULL_WRAPPER}, each candidate run "
                        f"twice between null runs of the capacity scenario ({shown}; "
                        f"fitted: {expression} is x0.80)")


def _sized(kind: PowerKind, clean: dict[str, Any], recorder: _Recorder,
           say: Callable[[str], None]) -> tuple[str, str]:
    """The injection for a kind sized on this machine, and how it was sized."""
    if kind.key == "capacity-20%":
        return _size_capacity_drop(recorder, say)
    if kind.key == "p99x2":
        p99s = [s["metrics"]["latency_ms"]["p99"] for s in clean["scenarios"]
                if s["name"] == "baseline" and s["status"] == "pass"]
        if not p99s:
            raise HarnessError("gate power: the clean run has no measured baseline scenario "
                               "to size the 2x P99 regression from")
        p99_ms = float(statistics.median(p99s))
        delay_us = max(1, round(p99_ms * 1000))
        # below 2 ms a wait would last a timer tick (~1 ms or more): use work there
        op = "+" if p99_ms < 2.0 else "~"
        return (f"get{op}{delay_us}us@2%",
                f"clean P99 of the baseline scenario {p99_ms:.3f} ms (median of its repeats): "
                f"2 % of gets take that much longer ({'work' if op == '+' else 'a wait'})")
    raise HarnessError(f"gate power: kind {kind.key!r} has no injection")


CLEAN_ATTEMPTS = 3


def _clean(recorder: _Recorder, retries: list[int]) -> dict[str, Any]:
    """A clean run in which every scenario was measured (none invalid): a run CI would
    have retried (exit 3) is run again, up to :data:`CLEAN_ATTEMPTS` times; ``retries``
    counts the reruns. The last attempt is returned whatever it is."""
    for attempt in range(CLEAN_ATTEMPTS):
        doc = recorder.run()
        if all(s["status"] != "invalid" for s in doc["scenarios"]):
            return doc
        if attempt + 1 < CLEAN_ATTEMPTS:
            retries[0] += 1
    return doc


def _short(body: dict[str, Any], runs: int) -> bool:
    """True while the A/A pairs or some kind has fewer than ``runs`` counted gates."""
    entries = [body["aa"], *body["detections"].values()]
    return any(entry.get("runs", 0) < runs for entry in entries)


def _gate(current: dict[str, Any], baseline: dict[str, Any], thresholds: Sequence[Threshold],
          alpha: float, min_repeats: int) -> dict[str, Any]:
    try:
        outcome: GateOutcome = evaluate(current, baseline, thresholds, alpha=alpha,
                                        min_repeats=min_repeats)
    except HarnessError as exc:  # e.g. a clean run with an invalid repeat as the baseline
        return {"verdict": "invalid", "reason": str(exc), "breaches": []}
    verdict = {EXIT_BREACH: "breach", EXIT_INVALID_RUN: "invalid"}.get(outcome.exit_code,
                                                                       "pass")
    effects = {f"{c.scenario}: {c.expression}": c.comparison.effect
               for c in outcome.checks if c.comparison is not None
               and c.metric in EFFECTS_KEPT}
    return {
        "verdict": verdict,
        "effects": effects,
        "breaches": [
            {"scenario": c.scenario, "check": c.expression, "current": c.current,
             "baseline": c.baseline,
             "effect": c.comparison.effect if c.comparison is not None else None,
             "p": c.comparison.p if c.comparison is not None else None}
            for c in outcome.breaches
        ],
    }


def _summary(gates: list[dict[str, Any]]) -> dict[str, Any]:
    counted = [g for g in gates if g["verdict"] != "invalid"]
    fired: dict[str, int] = {}
    for gate in counted:
        for breach in gate["breaches"]:
            key = f"{breach['scenario']}: {breach['check']}"
            fired[key] = fired.get(key, 0) + 1
    status_only = sum(g["verdict"] == "breach"
                      and all(b["check"] == "status == pass" for b in g["breaches"])
                      for g in counted)
    return {"runs": len(counted), "invalid": len(gates) - len(counted),
            "breached": sum(g["verdict"] == "breach" for g in counted),
            "status_only": status_only,
            "checks_fired": dict(sorted(fired.items(), key=lambda kv: -kv[1]))}


def run_power(
    *, runs: int, thresholds: Sequence[Threshold], alpha: float, min_repeats: int,
    target: str = "stageflow_core", quick: bool = True, repeat: int = 3,
    kinds: Sequence[PowerKind] = KINDS,
    progress: Callable[[str], None] | None = None,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Measure false alarms and detections (see the module docstring).

    ``checkpoint`` gets the document after every iteration, so a long measurement that is
    stopped still leaves its figures so far.

    :raises HarnessError: ``runs`` < 1, ``repeat`` below ``min_repeats``, no thresholds.
    """
    if runs < 1:
        raise HarnessError(f"--power-runs must be >= 1, got {runs}")
    if repeat < min_repeats:
        raise HarnessError(f"gate power: repeat {repeat} is below min_repeats {min_repeats}")
    if not any(t.limit.relative for t in thresholds):
        raise HarnessError("gate power needs relative thresholds (x * baseline) to measure")
    say = progress or (lambda _msg: None)
    recorder = _Recorder(target, quick=quick, repeat=repeat)
    started = time.perf_counter_ns()
    say("clean run 0")
    retries = [0]
    previous = _clean(recorder, retries)
    injections: dict[str, dict[str, str]] = {}
    for kind in kinds:
        if kind.inject is not None:
            injections[kind.key] = {"inject": kind.inject, "sized": ""}
        else:
            say(f"sizing {kind.key}")
            expression, how = _sized(kind, previous, recorder, say)
            injections[kind.key] = {"inject": expression, "sized": how}
    doc: dict[str, Any] = {
        "gate_power": {
            "version": 1, "target": target, "quick": quick, "repeat": repeat,
            "scenarios": [s.name for s in recorder.specs],
            "detection_scenarios": list(DETECTION_SCENARIOS), "seed": SEED,
            "alpha": alpha, "min_repeats": min_repeats,
            "thresholds": [t.describe() for t in thresholds],
            "kinds": [{"key": k.key, "description": k.description,
                       "baseline_inject": k.baseline_inject, **injections[k.key]}
                      for k in kinds],
            "aa": {"gates": []}, "detections": {k.key: {"gates": []} for k in kinds},
        }
    }
    body = doc["gate_power"]
    i = 0
    while i < runs or (_short(body, runs) and i < runs + MAX_EXTRA_ITERATIONS):
        i += 1
        say(f"iteration {i} (of >= {runs}): clean run")
        clean = _clean(recorder, retries)
        body["clean_reruns"] = retries[0]
        body["aa"]["gates"].append(_gate(clean, previous, thresholds, alpha, min_repeats))
        for kind in kinds:
            say(f"iteration {i}: {kind.key}")
            base = clean
            expression = injections[kind.key]["inject"]
            if kind.baseline_inject is not None:
                base = recorder.run(kind.baseline_inject, specs=recorder.detection_specs)
            injected = recorder.run(expression, specs=recorder.detection_specs)
            gate = _gate(injected, base, thresholds, alpha, min_repeats)
            gate["inject"] = expression
            body["detections"][kind.key]["gates"].append(gate)
        previous = clean
        body["aa"].update(_summary(body["aa"]["gates"]))
        for entry in body["detections"].values():
            entry.update(_summary(entry["gates"]))
        body["elapsed_s"] = round((time.perf_counter_ns() - started) / 1e9, 1)
        body["iterations"] = i
        if checkpoint is not None:
            checkpoint(doc)
    return doc
