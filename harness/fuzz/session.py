"""A fuzz session: run every state machine against a target until nothing new fails.

For each machine the session runs hypothesis (fixed seed, no database, no deadlines). A
violation, once shrunk, is recorded and its key (component, property, operation) masked;
the machine then runs again, so one session finds several distinct defects. It stops when
a run finds nothing new, or the time budget ends. Each violation becomes one bug
:class:`~harness.findings.Finding` whose reproduction is a self-contained script; with
``verify`` the script is run against the fuzzed target (must fail) and the reference
library (must pass) first. Capabilities the target lacks become improvement findings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky
from hypothesis.stateful import get_state_machine_test

from harness.findings import Finding
from harness.fuzz.buffer_machine import BufferMachine
from harness.fuzz.core import FuzzMachine, PropertyViolation, ViolationKey
from harness.fuzz.objects_machine import ObjectsMachine
from harness.fuzz.queue_machine import QueueMachine
from harness.fuzz.snippet import render_snippet, run_snippet, target_module
from harness.targets import Target

__all__ = ["MACHINES", "FuzzConfig", "FuzzReport", "Violation", "run_fuzz"]

MACHINES: dict[str, type[FuzzMachine]] = {
    "queue": QueueMachine,
    "buffer": BufferMachine,
    "objects": ObjectsMachine,
}
REFERENCE_MODULE = "stageflow_core"

_SEVERITY = {
    "no_hang": "high", "put_timeout": "high", "no_loss": "high", "fifo": "high",
    "bounds": "medium", "whole_frames": "medium", "no_silent_drop": "medium",
    "bad_input_refused": "medium", "config_refused": "medium", "duration": "medium",
    "unexpected_error": "medium", "integrity": "high", "outcome": "medium",
    "end_of_stream": "high", "level": "low", "backpressure_visible": "low",
    "underrun_visible": "low", "read_length": "medium",
}
_IMPACT = {
    "high": "a stream can stall, lose or corrupt data with no error",
    "medium": "the stream misbehaves or hides a problem under these inputs",
    "low": "operators see a wrong picture of the stream (telemetry or levels)",
}
# Capabilities the fuzz machines exercise when present.
FUZZED_CAPABILITIES = ("put_timeout", "put_nowait", "buffer_level", "buffer_formats")


@dataclass
class FuzzConfig:
    """What to fuzz and for how long."""

    max_examples: int = 300
    seed: int = 0
    machines: tuple[str, ...] = tuple(MACHINES)
    budget_s: float = 100.0
    """Wall-time budget for the whole session (rounds stop being explored after it)."""
    hang_s: float = 0.25
    """How long a call that must end may wait for a timer before it counts as hung."""
    step_count: int = 30
    """Steps per example."""
    max_rounds: int = 25
    """Hypothesis runs per machine at most (one per defect found, plus the clean one)."""
    verify: bool = True
    """Run each reproduction against the target and the reference library."""
    reference: str = REFERENCE_MODULE


@dataclass
class Violation:
    """One distinct defect found by a machine, with its shrunk reproduction."""

    machine: str
    key: ViolationKey
    detail: str
    expected: str
    snippet: str
    verified: dict[str, Any] = field(default_factory=dict)

    @property
    def component(self) -> str:
        return self.key[0]

    @property
    def prop(self) -> str:
        return self.key[1]

    @property
    def operation(self) -> str:
        return self.key[2]

    def as_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "component": self.component, "property": self.prop,
                "operation": self.operation, "detail": self.detail, "expected": self.expected,
                "verified": self.verified}


@dataclass
class FuzzReport:
    """What a session did."""

    target: dict[str, Any]
    config: FuzzConfig
    violations: list[Violation] = field(default_factory=list)
    missing_capabilities: list[str] = field(default_factory=list)
    rounds: dict[str, int] = field(default_factory=dict)
    complete: dict[str, bool] = field(default_factory=dict)
    """Per machine: its last run found nothing new (not cut by the budget)."""
    notes: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def checks_run(self) -> set[str]:
        """Checks a completed machine ran: an open finding of these not found again is fixed."""
        checks: set[str] = set()
        for name, machine in MACHINES.items():
            if self.complete.get(name):
                checks.update(f"fuzz/{prop}" for prop in machine.properties)
        return checks

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "seed": self.config.seed,
            "max_examples": self.config.max_examples,
            "machines": list(self.config.machines),
            "rounds": self.rounds,
            "complete": self.complete,
            "duration_s": round(self.duration_s, 3),
            "violations": [v.as_dict() for v in self.violations],
            "missing_capabilities": self.missing_capabilities,
            "notes": self.notes,
        }


def bind(machine: type[FuzzMachine], target: Target, masked: set[ViolationKey],
         deadline_ns: int, hang_s: float, seen: set[ViolationKey]) -> type[FuzzMachine]:
    """A subclass of ``machine`` bound to one target and one set of masked defects."""
    return type(machine.__name__, (machine,), {
        "target": target, "masked": frozenset(masked), "deadline_ns": deadline_ns,
        "hang_s": hang_s, "seen": seen,
    })


def _settings(config: FuzzConfig, machine: type[FuzzMachine] | None = None) -> settings:
    steps = config.step_count
    if machine is not None and machine.max_steps:
        steps = min(steps, machine.max_steps)
    return settings(
        max_examples=config.max_examples, database=None, deadline=None, derandomize=False,
        suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
        verbosity=Verbosity.quiet, phases=[Phase.generate, Phase.shrink],
        stateful_step_count=steps, print_blob=False,
    )


def fuzz_machine(
    name: str, target: Target, config: FuzzConfig, deadline_ns: int,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[tuple[PropertyViolation, str]], bool, int, list[str]]:
    """Run one machine until a run finds nothing new; returns (violations, complete,
    rounds, notes)."""
    machine = MACHINES[name]
    masked: set[ViolationKey] = set()
    found: list[tuple[PropertyViolation, str]] = []
    notes: list[str] = []
    rounds = 0
    complete = False
    while rounds < config.max_rounds and time.perf_counter_ns() < deadline_ns:
        rounds += 1
        seen: set[ViolationKey] = set()
        bound = bind(machine, target, masked, deadline_ns, config.hang_s, seen)
        test = hypothesis_seed(config.seed)(get_state_machine_test(
            bound, settings=_settings(config, machine)))
        try:
            test()
        except PropertyViolation as violation:
            if violation.key in masked:  # cannot happen: masked keys never raise
                notes.append(f"{name}: {violation.key} raised while masked")
                break
            masked.add(violation.key)
            found.append((violation, name))
            if progress is not None:
                progress(f"{name}: {violation.key[0]}.{violation.key[2]}: {violation.key[1]}")
            continue
        except Flaky as exc:
            notes.append(f"{name}: flaky failure not recorded ({type(exc).__name__}): "
                         f"{str(exc).splitlines()[0][:200]}")
            break
        complete = time.perf_counter_ns() < deadline_ns
        if not complete:
            notes.append(f"{name}: budget ended during round {rounds}")
        break
    else:
        if rounds >= config.max_rounds:
            notes.append(f"{name}: stopped after {rounds} rounds (max_rounds)")
    return found, complete, rounds, notes


class _CountLogs(logging.Handler):
    """Counts log records while fuzzing (a target that logs emitter failures would
    otherwise print one traceback per example)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def run_fuzz(target: Target, config: FuzzConfig, *, command: str = "stageflow-stress fuzz",
             progress: Callable[[str], None] | None = None) -> FuzzReport:
    """Fuzz ``target`` with every machine in ``config.machines``."""
    root = logging.getLogger()
    counter = _CountLogs()
    root.addHandler(counter)
    try:
        report = _run(target, config, command=command, progress=progress)
    finally:
        root.removeHandler(counter)
    if counter.count:
        report.notes.append(f"the target logged {counter.count} records while fuzzed "
                            "(not shown)")
    return report


def _run(target: Target, config: FuzzConfig, *, command: str,
         progress: Callable[[str], None] | None) -> FuzzReport:
    started = time.perf_counter_ns()
    report = FuzzReport(target={"name": target.name, "version": target.version},
                        config=config)
    caps = target.capabilities
    report.missing_capabilities = [c for c in FUZZED_CAPABILITIES if not getattr(caps, c)]
    budget_end = started + int(config.budget_s * 1e9)
    module = target_module(target) or target.name
    for index, name in enumerate(config.machines):
        if name not in MACHINES:
            raise ValueError(f"unknown fuzz machine {name!r}; known: {', '.join(MACHINES)}")
        left = len(config.machines) - index
        share = (budget_end - time.perf_counter_ns()) // left
        deadline = time.perf_counter_ns() + max(share, 0)
        if progress is not None:
            progress(f"fuzzing {name}")
        found, complete, rounds, notes = fuzz_machine(name, target, config, deadline, progress)
        report.rounds[name] = rounds
        report.complete[name] = complete
        report.notes += notes
        for violation, machine in found:
            code = render_snippet(
                title=_title(violation), preamble=violation.preamble, lines=violation.lines,
                module=module, target_name=target.name, target_version=target.version,
                command=f"{command} --target {target.name} --seed {config.seed}",
            )
            report.violations.append(Violation(
                machine=machine, key=violation.key, detail=violation.detail,
                expected=violation.expected, snippet=code))
    if config.verify and report.violations:
        if progress is not None:
            progress("verifying reproductions")
        _verify(report, module, config.reference)
    report.duration_s = (time.perf_counter_ns() - started) / 1e9
    return report


def _verify(report: FuzzReport, module: str, reference: str) -> None:
    jobs = [(v, m) for v in report.violations
            for m in dict.fromkeys((module, reference))]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda job: run_snippet(job[0].snippet, job[1]), jobs))
    for (violation, mod), result in zip(jobs, results, strict=True):
        role = "target" if mod == module else "reference"
        violation.verified[role] = result
    for violation in report.violations:
        target_result = violation.verified.get("target", {}).get("result")
        ref = violation.verified.get("reference", {}).get("result")
        violation.verified["confirmed"] = target_result in ("fails", "hangs") and (
            module == reference or ref == "passes")


def _title(violation: PropertyViolation) -> str:
    component, prop, operation = violation.key
    return f"{component}.{operation}: {prop.replace('_', ' ')} violated"


def to_findings(report: FuzzReport, *, run_id: str) -> list[Finding]:
    """Bug findings for the violations, improvement findings for missing capabilities."""
    from harness.findings import _CAPABILITY_COMPONENTS, _CAPABILITY_TEXT  # shared wording

    target = report.target
    findings: list[Finding] = []
    for v in report.violations:
        severity = _SEVERITY.get(v.prop, "medium")
        findings.append(Finding(
            kind="bug",
            title=_finding_title(v),
            severity=severity,
            component=v.component,
            target=target,
            description=(
                f"Model-based fuzzing ({v.machine} state machine, seed {report.config.seed}) "
                f"of {target['name']} {target['version']} broke the property "
                f"'{v.prop}' in {v.component}.{v.operation}: {v.detail}. The reproduction "
                "is the shrunk example, replayed step by step against the public API."
            ),
            reproduction=v.snippet,
            expected=v.expected,
            actual=v.detail,
            impact=_IMPACT[severity],
            recommendation=(
                f"Make {v.component}.{v.operation.split(' ')[0]} keep '{v.prop}'; the "
                "reproduction exits 0 once it does (it passes on stageflow_core)."
            ),
            evidence={
                "source": "fuzz", "run_id": run_id, "machine": v.machine,
                "property": v.prop, "operation": v.operation,
                "defect_class": f"{v.prop}: {v.operation}", "seed": report.config.seed,
                "max_examples": report.config.max_examples, "verified": v.verified,
                "target_version": target["version"],
            },
            check=f"fuzz/{v.prop}",
        ))
    for capability in report.missing_capabilities:
        title, recommendation = _CAPABILITY_TEXT.get(
            capability, (f"{target['name']} lacks {capability}", f"add {capability}"))
        findings.append(Finding(
            kind="improvement",
            title=title,
            severity="P2",
            component=_CAPABILITY_COMPONENTS.get(capability, "ChunkQueue"),
            target=target,
            description=(
                f"The fuzz session against {target['name']} {target['version']} could not "
                f"exercise {capability!r}: the target does not offer it, so the properties "
                "that depend on it cannot be checked."
            ),
            reproduction=f"stageflow-stress fuzz --target {target['name']} --seed "
                         f"{report.config.seed}",
            expected=f"the target offers {capability!r}",
            actual=f"capability {capability!r} missing",
            impact="users cannot observe or control this aspect of the stream",
            recommendation=recommendation,
            evidence={"source": "fuzz", "run_id": run_id, "invariant": f"capability:{capability}",
                      "defect_class": capability, "target_version": target["version"]},
            check=f"capability/{capability}",
        ))
    return findings


def _finding_title(v: Violation) -> str:
    text = {
        "no_hang": "a blocked call never ends",
        "put_timeout": "put(timeout=) does not end by its timeout",
        "no_loss": "an accepted item is never delivered",
        "fifo": "items are delivered out of order, duplicated or invented",
        "bounds": "holds more than its configured bound",
        "whole_frames": "returns or trims partial audio frames",
        "no_silent_drop": "drops data without reporting it",
        "bad_input_refused": "accepts invalid input or changes state when refusing it",
        "config_refused": "accepts an invalid configuration",
        "duration": "reports a wrong duration",
        "level": "reports a wrong level",
        "backpressure_visible": "a put waits without stream.producer_blocked",
        "underrun_visible": "a short read is not reported as an underrun",
        "end_of_stream": "a closed, drained queue does not end its consumer",
        "integrity": "returns audio other than what was added",
        "read_length": "a read returns the wrong amount of audio",
        "unexpected_error": "raises an undocumented error",
        "outcome": "a call ends in a way the contract does not allow",
    }.get(v.prop, v.prop.replace("_", " "))
    return f"{v.component}.{v.operation}: {text}"
