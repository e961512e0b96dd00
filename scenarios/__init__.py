"""Scenarios: plain async functions registered with ``@scenario``, grouped into suites.

Importing this package registers the built-in scenarios (the ``transform007`` suite:
baseline, queue_overflow, buffer_overflow, buffer_underrun, high_load). A user's module
registers more with the same decorator and is loaded with ``--scenarios MODULE``. See
docs/writing-scenarios.md.
"""

import importlib

from scenarios.context import SLO_KEYS, ScenarioContext, TargetView
from scenarios.registry import (
    CATEGORIES,
    HYPOTHESES,
    ScenarioSpec,
    UnknownScenario,
    UnknownSuite,
    all_scenarios,
    define_suite,
    get_scenario,
    scenario,
    suite_members,
    suites,
    unregister,
)

define_suite("transform007", "the five scenarios of the TRANSFORM-007 stress report")

BUILTIN_MODULES = ("baseline", "queue_overflow", "buffer_overflow", "buffer_underrun",
                   "high_load", "adv_queue", "adv_audio")
"""Built-in scenario modules, imported (and so registered) in the suite's run order
(``adv_*``: the ``adversarial`` suite)."""

for _module in BUILTIN_MODULES:
    importlib.import_module(f"scenarios.{_module}")

__all__ = [
    "BUILTIN_MODULES",
    "CATEGORIES",
    "HYPOTHESES",
    "SLO_KEYS",
    "ScenarioContext",
    "ScenarioSpec",
    "TargetView",
    "UnknownScenario",
    "UnknownSuite",
    "all_scenarios",
    "define_suite",
    "get_scenario",
    "scenario",
    "suite_members",
    "suites",
    "unregister",
]
