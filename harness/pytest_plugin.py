"""pytest plugin: run stageflow-stress scenarios from your own tests, assert thresholds.

Installed with the package (entry point ``pytest11``), it adds:

- the ``stress`` fixture (:class:`Stress`): ``stress.run("baseline", "capacity",
  repeat=3)`` runs scenarios (or ``suite="transform007"``) against a target in this
  process and returns :class:`StressResults`; ``await stress.arun(...)`` does the same from
  an ``async def`` test (pytest-asyncio): the run needs event loops of its own, so it goes
  to a worker thread while the test's loop waits;
- ``results.check("lost == 0", "latency.p99_ms <= 1.5 * baseline + 0.1")``: thresholds in
  the gate's grammar (docs/gate.md), judged as ``stageflow-stress gate`` judges them — every
  scenario must pass, relative limits use the statistical test against the baseline. A
  breach fails the test with one line per breached check; a run that was invalid (the load
  generator could not keep its schedule, the gate's exit 3) skips the test and says why;
- options ``--stress-baseline FILE`` (the baseline relative thresholds compare with; without
  it a relative threshold fails the test and says so), ``--stress-target SPEC`` (the
  default target, ``stageflow_core``) and ``--stress-results DIR`` (also write each run's
  results document there).

Nothing heavy is imported until a test uses the fixture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.gate import GateOutcome

__all__ = ["Stress", "StressResults", "StressThresholdError"]


class StressThresholdError(AssertionError):
    """A threshold was breached (or a scenario did not pass); the message lists each one."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stageflow-stress", "stageflow-stress scenarios and thresholds")
    group.addoption("--stress-baseline", metavar="FILE", default=None,
                    help="baseline results for relative thresholds (x * baseline)")
    group.addoption("--stress-target", metavar="SPEC", default="stageflow_core",
                    help="target the stress fixture runs against by default")
    group.addoption("--stress-results", metavar="DIR", default=None,
                    help="also write each stress run's results document into DIR")


@dataclass
class StressResults:
    """A run's results document and the thresholds to check against it."""

    doc: dict[str, Any]
    baseline: dict[str, Any] | None = None
    baseline_path: str | None = None
    alpha: float | None = None
    min_repeats: int | None = None

    def scenario(self, name: str) -> list[dict[str, Any]]:
        """Every repeat of scenario ``name`` (its entries of the results document).

        :raises KeyError: the run has no such scenario.
        """
        found = [s for s in self.doc["scenarios"] if s["name"] == name]
        if not found:
            have = ", ".join(sorted({s["name"] for s in self.doc["scenarios"]}))
            raise KeyError(f"no scenario {name!r} in this run (have: {have})")
        return found

    def check(self, *thresholds: str, status: bool = True) -> GateOutcome:
        """Judge ``thresholds`` as ``stageflow-stress gate`` does; returns the outcome.

        :raises StressThresholdError: a threshold breached or a scenario failed (with
            ``status``); one line per problem.
        :raises pytest.skip.Exception: nothing breached but a scenario was ``invalid`` (the
            load generator could not keep its schedule: the CLI's exit 3).
        :raises pytest.fail: a threshold that does not parse, names an unknown metric, or is
            relative without ``--stress-baseline``.
        """
        from harness.errors import HarnessError
        from harness.gate import DEFAULT_ALPHA, DEFAULT_MIN_REPEATS, INVALID, evaluate
        from harness.thresholds import parse_threshold

        try:
            parsed = [parse_threshold(t, source="check()") for t in thresholds]
            relative = [t.text for t in parsed if t.limit.relative]
            if relative and self.baseline is None:
                pytest.fail(f"relative threshold {relative[0]!r} needs a baseline: run pytest "
                            "with --stress-baseline FILE", pytrace=False)
            outcome = evaluate(self.doc, self.baseline, parsed, check_status=status,
                               alpha=self.alpha or DEFAULT_ALPHA,
                               min_repeats=self.min_repeats or DEFAULT_MIN_REPEATS)
        except HarnessError as exc:
            pytest.fail(f"stageflow-stress: {exc}", pytrace=False)
        problems = [c for c in outcome.checks if c.verdict in ("BREACH", INVALID)]
        if problems and all(c.verdict == INVALID for c in problems):
            names = ", ".join(dict.fromkeys(c.scenario for c in problems))
            pytest.skip(f"stageflow-stress: run invalid in {names}: the load generator could "
                        "not keep its schedule (machine overloaded), the numbers do not "
                        "measure the target")
        if problems:
            lines = []
            for c in problems:
                line = (f"{c.scenario}: {c.expression}: {c.current_text()} (limit {c.limit}, "
                        f"baseline {c.baseline_text()})")
                if c.comparison is not None:
                    line += f", effect {c.effect_text}, p {c.p_text}"
                if c.note:
                    line += f"; {c.note}"
                lines.append(f"{c.verdict}: {line}")
            raise StressThresholdError("\n".join(lines))
        return outcome


@dataclass
class Stress:
    """The ``stress`` fixture: runs scenarios and hands back :class:`StressResults`."""

    target: str = "stageflow_core"
    baseline_path: str | None = None
    results_dir: str | None = None
    _baseline: dict[str, Any] | None = field(default=None, repr=False)
    _settings: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def baseline(self) -> dict[str, Any] | None:
        """The ``--stress-baseline`` document, or None when none was given."""
        if self._baseline is None and self.baseline_path is not None:
            from harness.errors import HarnessError
            from harness.results import load_results

            try:
                self._baseline = load_results(Path(self.baseline_path))
            except HarnessError as exc:
                pytest.fail(f"--stress-baseline: {exc}", pytrace=False)
        return self._baseline

    def run(self, *names: str, suite: str | None = None, target: str | None = None,
            quick: bool = True, repeat: int = 1, seed: int = 1,
            params: Mapping[str, Any] | None = None, inject: str | None = None,
            timeout: float | None = None) -> StressResults:
        """Run scenarios ``names`` and/or ``suite`` (default: the transform007 suite).

        ``params`` override scenario parameters (like ``--param``), ``inject`` wraps the
        target (like ``--inject``). Must not be called from a running event loop: use
        :meth:`arun` in ``async def`` tests.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            pytest.fail("stress.run() inside a running event loop: use "
                        "'await stress.arun(...)' in async tests", pytrace=False)
        return self._run(names, suite, target, quick, repeat, seed, params, inject, timeout)

    async def arun(self, *names: str, suite: str | None = None, target: str | None = None,
                   quick: bool = True, repeat: int = 1, seed: int = 1,
                   params: Mapping[str, Any] | None = None, inject: str | None = None,
                   timeout: float | None = None) -> StressResults:
        """:meth:`run` for ``async def`` tests: runs in a worker thread."""
        return await asyncio.to_thread(self._run, names, suite, target, quick, repeat, seed,
                                       params, inject, timeout)

    def _run(self, names: Sequence[str], suite: str | None, target: str | None, quick: bool,
             repeat: int, seed: int, params: Mapping[str, Any] | None, inject: str | None,
             timeout: float | None) -> StressResults:
        import scenarios  # noqa: F401  (registers the built-in scenarios)
        from harness.errors import HarnessError
        from harness.metrics import reference_queue_throughput
        from harness.runner import (
            Runner,
            build_run_document,
            configured_scenario_modules,
            import_scenario_modules,
        )
        from harness.targets import load_target
        from scenarios.registry import get_scenario, suite_members

        spec_text = target or self.target
        try:
            if repeat < 1:
                raise HarnessError(f"repeat must be >= 1, got {repeat}")
            import_scenario_modules(configured_scenario_modules())
            chosen = [*(suite_members(suite) if suite else []),
                      *(get_scenario(n) for n in names)]
            if not chosen:
                chosen = suite_members("transform007")
            specs = list({s.name: s for s in chosen}.values())
            overrides = dict(params or {})
            for key in overrides:
                if not any(key in s.full for s in specs):
                    raise HarnessError(f"params: no selected scenario has a parameter {key!r}")
            for spec in specs:
                spec.params(quick=quick, overrides={k: v for k, v in overrides.items()
                                                     if k in spec.full})
            loaded = load_target(spec_text)
            if inject is not None:
                from harness.inject import inject as wrap

                loaded = wrap(loaded, inject)
        except (HarnessError, LookupError, ValueError) as exc:
            pytest.fail(f"stageflow-stress: {exc}", pytrace=False)
        reference = reference_queue_throughput()
        runner = Runner(target=loaded, target_spec=spec_text, quick=quick, seed=seed,
                        repeat=repeat, timeout_s=timeout, overrides=overrides, inject=inject)
        entries = runner.run(specs)
        words = ["stageflow-stress", "run", *(s.name for s in specs), "--target", spec_text,
                 "--seed", str(seed), "--repeat", str(repeat)]
        if quick:
            words.append("--quick")
        doc = build_run_document(
            command=" ".join(words), target=loaded, seed=seed, suite=suite, quick=quick,
            repeat=repeat, reference_cps=reference, entries=entries,
            extra={"inject": inject} if inject is not None else None)
        if self.results_dir is not None:
            from harness.results import save_results

            save_results(doc, Path(self.results_dir))
        return StressResults(doc, baseline=self.baseline, baseline_path=self.baseline_path,
                             alpha=self._settings.get("alpha"),
                             min_repeats=self._settings.get("min_repeats"))


@pytest.fixture
def stress(request: pytest.FixtureRequest) -> Stress:
    """Run stageflow-stress scenarios from a test; see :class:`Stress`."""
    config = request.config
    settings: dict[str, Any] = {}
    from harness.gate import find_pyproject, load_config

    pyproject = find_pyproject(Path(str(config.rootpath)))
    if pyproject is not None:
        section = load_config(pyproject, what="pyproject")
        settings = {k: section[k] for k in ("alpha", "min_repeats") if k in section}
    return Stress(target=config.getoption("--stress-target"),
                  baseline_path=config.getoption("--stress-baseline"),
                  results_dir=config.getoption("--stress-results"), _settings=settings)
