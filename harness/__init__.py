"""The stageflow-stress harness: its public API for use from Python.

::

    from harness import Runner, build_run_document, load_target, save_results
    import scenarios  # registers the built-in scenarios

    target = load_target("stageflow_core")
    entries = Runner(target=target, target_spec="stageflow_core", quick=True, seed=1).run(
        scenarios.suite_members("transform007"))

Exit codes and :class:`HarnessError` are imported with the package; every other name is
imported from its module on first use (PEP 562), so ``import harness.<module>`` and
``stageflow-stress --help`` never pay for numpy, rich or the runner they do not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.errors import (
    EXIT_BREACH,
    EXIT_FAIL,
    EXIT_INVALID_RUN,
    EXIT_OK,
    EXIT_USAGE,
    HarnessError,
)

if TYPE_CHECKING:
    from harness.cli import main
    from harness.defects import DefectKey
    from harness.findings import (
        Finding,
        MergeSummary,
        findings_from_run,
        merge_findings,
        record_run,
    )
    from harness.hypotheses import evaluate_hypotheses
    from harness.results import STATUSES, load_results, save_results, validate_results
    from harness.runner import Runner, build_run_document, run_scenario, summarize
    from harness.targets import Capabilities, CapabilityMissing, Target, load_target

_LAZY: dict[str, str] = {
    "main": "harness.cli",
    "DefectKey": "harness.defects",
    "Finding": "harness.findings",
    "MergeSummary": "harness.findings",
    "findings_from_run": "harness.findings",
    "merge_findings": "harness.findings",
    "record_run": "harness.findings",
    "evaluate_hypotheses": "harness.hypotheses",
    "STATUSES": "harness.results",
    "load_results": "harness.results",
    "save_results": "harness.results",
    "validate_results": "harness.results",
    "Runner": "harness.runner",
    "build_run_document": "harness.runner",
    "run_scenario": "harness.runner",
    "summarize": "harness.runner",
    "Capabilities": "harness.targets",
    "CapabilityMissing": "harness.targets",
    "Target": "harness.targets",
    "load_target": "harness.targets",
}
"""Public name -> the module that defines it."""

__all__ = [
    "EXIT_BREACH",
    "EXIT_FAIL",
    "EXIT_INVALID_RUN",
    "EXIT_OK",
    "EXIT_USAGE",
    "STATUSES",
    "Capabilities",
    "CapabilityMissing",
    "DefectKey",
    "Finding",
    "HarnessError",
    "MergeSummary",
    "Runner",
    "Target",
    "build_run_document",
    "evaluate_hypotheses",
    "findings_from_run",
    "load_results",
    "load_target",
    "main",
    "merge_findings",
    "record_run",
    "run_scenario",
    "save_results",
    "summarize",
    "validate_results",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
