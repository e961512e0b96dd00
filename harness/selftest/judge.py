"""The self-test of the judge: run the suites and fuzz on every corpus member, score them.

For each member the self-test does what a user does to a target — the ``transform007`` and
``adversarial`` suites, then a fuzz session — and collects the findings the judge makes of
it (``harness.findings.findings_from_run``, ``harness.fuzz.to_findings``), judged by the
member's declared semantics as a merge into the ledgers would judge them
(``harness.findings.judge_findings``). It writes no ledger and no results file: findings
are scored in memory.

- A **seeded** member is *found* when a bug finding names the clause it breaks
  (:meth:`~harness.selftest.corpus.Breaks.matches` on the finding's defect key). Found by
  another key only (a symptom filed as something else) is not found.
- A **clean** member must draw no bug at all: each bug finding on one is a *false finding*.
- **Recall** = seeded members found / seeded members.

Members run in worker processes (one target per process: no state shared between them).
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FULL",
    "QUICK",
    "Budget",
    "MemberResult",
    "SelftestReport",
    "run_member",
    "run_selftest",
]

SUITES = ("transform007", "adversarial")


@dataclass(frozen=True)
class Budget:
    """How hard each member is exercised."""

    quick: bool
    """The scenarios' quick parameters."""
    max_examples: int
    """Fuzz examples per hypothesis run of each machine."""
    fuzz_budget_s: float
    """Wall-time budget of each member's fuzz session."""
    seed: int = 0


QUICK = Budget(quick=True, max_examples=40, fuzz_budget_s=25.0)
FULL = Budget(quick=False, max_examples=200, fuzz_budget_s=60.0)


@dataclass
class MemberResult:
    """What the judge made of one member."""

    name: str
    spec: str
    clean: bool
    breaks: dict[str, Any] | None
    bugs: list[dict[str, Any]] = field(default_factory=list)
    """Every bug finding: its defect key (when named), check and title."""
    found_as: list[dict[str, Any]] = field(default_factory=list)
    """The bug findings that name the seeded clause (empty: not found)."""
    error: str | None = None
    duration_s: float = 0.0

    @property
    def found(self) -> bool:
        return bool(self.found_as)

    @property
    def false_findings(self) -> list[dict[str, Any]]:
        return self.bugs if self.clean else []

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "spec": self.spec, "clean": self.clean,
                "breaks": self.breaks, "found": None if self.clean else self.found,
                "found_as": self.found_as, "bugs": self.bugs,
                "false_findings": len(self.false_findings), "error": self.error,
                "duration_s": round(self.duration_s, 3)}


@dataclass
class SelftestReport:
    """The scores of a self-test run."""

    members: list[MemberResult]
    budget: Budget
    duration_s: float = 0.0

    @property
    def seeded(self) -> list[MemberResult]:
        return [m for m in self.members if not m.clean]

    @property
    def recall(self) -> float:
        seeded = self.seeded
        return sum(m.found for m in seeded) / len(seeded) if seeded else 1.0

    @property
    def false_findings(self) -> int:
        return sum(len(m.false_findings) for m in self.members)

    @property
    def errors(self) -> list[MemberResult]:
        return [m for m in self.members if m.error]

    def passed(self, *, min_recall: float, max_false: int) -> bool:
        return (self.recall >= min_recall and self.false_findings <= max_false
                and not self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recall": round(self.recall, 4),
            "seeded": len(self.seeded),
            "found": sum(m.found for m in self.seeded),
            "clean": len(self.members) - len(self.seeded),
            "false_findings": self.false_findings,
            "errors": len(self.errors),
            "budget": {"quick": self.budget.quick, "max_examples": self.budget.max_examples,
                       "fuzz_budget_s": self.budget.fuzz_budget_s, "seed": self.budget.seed},
            "duration_s": round(self.duration_s, 3),
            "members": [m.as_dict() for m in self.members],
        }


def _summary(finding: Any) -> dict[str, Any]:
    key = finding.defect_key
    out: dict[str, Any] = {"check": finding.check, "title": finding.title}
    if key is not None:
        out["key"] = key.as_dict()
    return out


def _findings(target: Any, budget: Budget) -> list[Any]:
    """Every finding the judge makes of ``target``: the suites' run, then a fuzz session."""
    import scenarios  # noqa: F401  (registers the built-in scenarios)
    from harness.findings import findings_from_run, judge_findings
    from harness.fuzz import MACHINES, FuzzConfig, run_fuzz, to_findings
    from harness.runner import Runner, build_run_document, target_semantics
    from scenarios.context import PARTS, has_part
    from scenarios.registry import suite_members

    specs = list({s.name: s for suite in SUITES for s in suite_members(suite)}.values())
    runner = Runner(target=target, target_spec=target.name, quick=budget.quick,
                    seed=budget.seed)
    entries = runner.run(specs)
    doc = build_run_document(command=f"selftest {target.name}", target=target,
                             seed=budget.seed, suite=None, quick=budget.quick, repeat=1,
                             reference_cps=0.0, entries=entries)
    findings = list(findings_from_run(doc))
    # the machines of the parts the target has (objects: its chunks and functions)
    machines = tuple(m for m in MACHINES if m not in PARTS or has_part(target, m))
    config = FuzzConfig(max_examples=budget.max_examples, seed=budget.seed,
                        budget_s=budget.fuzz_budget_s, verify=False, machines=machines)
    report = run_fuzz(target, config, command="stageflow-stress selftest")
    findings += to_findings(report, run_id=doc["run_id"])
    # judged as a merge into the ledgers judges them: by what the target declares
    kept, _withdrawn = judge_findings(findings, target_semantics(target))
    return kept


def run_member(name: str, spec: str, budget: Budget) -> MemberResult:
    """Run the suites and fuzz on one member and score what the judge found."""
    from harness.targets import load_target

    started = time.perf_counter_ns()
    target = load_target(spec)
    breaks = getattr(target, "breaks", None)
    result = MemberResult(name=name, spec=spec, clean=breaks is None,
                          breaks=breaks.as_dict() if breaks is not None else None)
    try:
        findings = _findings(target, budget)
    except Exception as exc:  # a crash of the harness on a member is a result, not an end
        result.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
        findings = []
    for finding in findings:
        if finding.kind != "bug":
            continue
        result.bugs.append(_summary(finding))
        key = finding.defect_key
        if breaks is not None and key is not None and breaks.matches(key):
            result.found_as.append(_summary(finding))
    result.duration_s = (time.perf_counter_ns() - started) / 1e9
    return result


def _run_member_job(job: tuple[str, str, Budget]) -> MemberResult:
    return run_member(*job)


def run_selftest(members: Iterable[tuple[str, str]], budget: Budget, *, jobs: int = 0,
                 on_done: Callable[[MemberResult], None] | None = None) -> SelftestReport:
    """Run every member (``(name, target spec)``), ``jobs`` at a time in worker processes
    (0: two per CPU, as scenarios mostly wait on real time; 1: in this process), and score
    them; members keep their given order."""
    chosen: Sequence[tuple[str, str]] = list(members)
    workers = jobs or 2 * (os.cpu_count() or 1)
    started = time.perf_counter_ns()
    results: dict[str, MemberResult] = {}
    if workers == 1:
        for name, spec in chosen:
            results[name] = run_member(name, spec, budget)
            if on_done is not None:
                on_done(results[name])
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_run_member_job, (name, spec, budget)): name
                       for name, spec in chosen}
            for future in as_completed(futures):
                result = future.result()
                results[result.name] = result
                if on_done is not None:
                    on_done(result)
    report = SelftestReport(members=[results[name] for name, _ in chosen], budget=budget)
    report.duration_s = (time.perf_counter_ns() - started) / 1e9
    return report
