"""A whole run: :class:`Runner` runs every scenario ``repeat`` times against one target,
in this process or isolated, with each attempt's derived seed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.runner.attempt import run_scenario
from harness.runner.context import RunContext
from harness.runner.isolation import _run_isolated
from harness.runner.seeds import derive_seed
from harness.targets import Target
from scenarios.registry import ScenarioSpec

__all__ = [
    "Callback",
    "DoneCallback",
    "Runner",
]

Callback = Callable[[ScenarioSpec, int], None]
DoneCallback = Callable[[dict[str, Any]], None]


@dataclass
class Runner:
    """Runs scenarios against one target; see the package docstring (:mod:`harness.runner`)
    for the contracts."""

    target: Target
    target_spec: str
    quick: bool = False
    seed: int = 0
    repeat: int = 1
    timeout_s: float | None = None
    isolate: bool = False
    overrides: Mapping[str, Any] = field(default_factory=dict)
    modules: Sequence[str] = ()
    inject: str | None = None
    """The ``--inject`` expression ``target`` was wrapped with (isolated children re-apply it)."""
    reproduce: Callable[[ScenarioSpec, int], str] | None = None
    on_start: Callback | None = None
    on_done: DoneCallback | None = None
    on_context: Callable[[RunContext], None] | None = None
    """Called with each attempt's context as it starts (not for isolated attempts): the
    live view reads its trace while it runs."""

    def attempts(self, specs: Sequence[ScenarioSpec]) -> list[tuple[ScenarioSpec, int]]:
        return [(spec, r) for r in range(self.repeat) for spec in specs]

    def run(self, specs: Sequence[ScenarioSpec]) -> list[dict[str, Any]]:
        """Every scenario ``repeat`` times (all scenarios, then again); entries in run order."""
        entries = []
        for spec, repeat_index in self.attempts(specs):
            if self.on_start:
                self.on_start(spec, repeat_index)
            entry = self.run_one(spec, repeat_index)
            entries.append(entry)
            if self.on_done:
                self.on_done(entry)
        return entries

    def run_one(self, spec: ScenarioSpec, repeat_index: int) -> dict[str, Any]:
        seed = derive_seed(self.seed, spec.name, repeat_index)
        overrides = {k: v for k, v in self.overrides.items() if k in spec.full}
        reproduction = self.reproduce(spec, repeat_index) if self.reproduce else None
        if self.isolate:
            return _run_isolated(spec, self.target_spec, modules=self.modules,
                                 quick=self.quick, seed=seed, repeat_index=repeat_index,
                                 overrides=overrides, timeout_s=self.timeout_s,
                                 reproduction=reproduction, inject=self.inject)
        return run_scenario(spec, self.target, quick=self.quick, seed=seed,
                            repeat_index=repeat_index, overrides=overrides,
                            timeout_s=self.timeout_s, reproduction=reproduction,
                            on_context=self.on_context)
