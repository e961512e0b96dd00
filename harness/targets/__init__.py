"""Targets: the implementation under test, its parts, and what it says it does.

A target provides any subset of the parts queue, buffer, chunk, duplex and pipeline
(``target.parts``; ``target.has(part)``), the capabilities of those parts
(:class:`Capabilities`), the semantics it declares with where each is written
(:class:`~harness.contract.Semantics`) and the exceptions that mean full, empty, closed and
end of stream. One scenario runs unchanged against any target; what a target lacks is a
:class:`CapabilityMissing`, never a crash. docs/targets.md is the full contract.

Specs accepted by :func:`load_target`:

- a built-in: ``stageflow_core`` (default), ``stageflow``, ``asyncio``, ``anyio``,
  ``janus``, ``culsans``, ``aiochannel``, ``livekit`` (:data:`BUILTIN_TARGETS`);
- ``package.module``: a module with Stageflow's streaming API;
- ``package.module:factory``: ``factory()`` returns such a module or a target object
  (an :class:`Adapter` subclass, or any object with the factory shape);
- ``pipecat`` and ``pipeline:package.module:factory``: a voice pipeline only (the pipeline
  part), see :mod:`harness.pipeline_targets`.
"""

from harness.targets.base import (
    OVERFLOW_POLICIES,
    PARTS,
    Adapter,
    Capabilities,
    CapabilityMissing,
    Chunk,
    EventEmitter,
    LibraryCode,
    Target,
    error_kind,
    missing_requirements,
)
from harness.targets.check import FactoryTarget, as_target, check_target
from harness.targets.loader import BUILTIN_TARGETS, Builtin, builtin_status, load_target
from harness.targets.module import ModuleTarget
from harness.targets.stageflow import BUILTIN_SEMANTICS

__all__ = [
    "BUILTIN_SEMANTICS",
    "BUILTIN_TARGETS",
    "OVERFLOW_POLICIES",
    "PARTS",
    "Adapter",
    "Builtin",
    "Capabilities",
    "CapabilityMissing",
    "Chunk",
    "EventEmitter",
    "FactoryTarget",
    "LibraryCode",
    "ModuleTarget",
    "Target",
    "as_target",
    "builtin_status",
    "check_target",
    "error_kind",
    "load_target",
    "missing_requirements",
]
