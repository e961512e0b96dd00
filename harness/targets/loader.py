"""Resolving a ``--target`` spec: the built-in targets by name, a user's module or factory.

Every target is checked (:func:`~harness.targets.check.check_target`) before it is
returned, so a part without a method it needs is a one-line error before any scenario runs.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from harness.errors import HarnessError
from harness.targets.base import PARTS, Adapter, distribution_version
from harness.targets.check import as_target, check_target
from harness.targets.module import ModuleTarget

__all__ = ["BUILTIN_TARGETS", "Builtin", "builtin_status", "load_target"]

TARGETS_EXTRA = "pip install 'stageflow-stress[targets]'"
LIVEKIT_INSTALL = "pip install --no-deps 'livekit-agents==1.8.9'"


@dataclass(frozen=True)
class Builtin:
    """A built-in target: how to make it and what installs it."""

    name: str
    summary: str
    distribution: str | None
    """The distribution the target needs (None: the standard library or this project)."""
    install: str
    """The command that installs it (shown when it is missing)."""
    make: Callable[[], Adapter]

    def installed(self) -> bool:
        return self.distribution is None or \
            distribution_version(self.distribution) != "not installed"


def _stageflow_core() -> Adapter:
    import stageflow_core
    from harness.pipeline_targets import stageflow_voice
    from harness.targets.stageflow import STAGEFLOW_CORE_SEMANTICS
    from stageflow_core.templates import iot_fan_in

    target = ModuleTarget(stageflow_core, name="stageflow_core",
                          version=_version("stageflow-stress", stageflow_core),
                          semantics=STAGEFLOW_CORE_SEMANTICS)
    target.make_voice_pipeline = stageflow_voice  # type: ignore[attr-defined]
    target.make_fan_in = iot_fan_in  # type: ignore[attr-defined]
    target.capabilities = replace(target.capabilities, pipeline=True)
    target.parts = target.parts | {"pipeline"}
    return target


def _stageflow() -> Adapter:
    from stageflow.helpers import streaming

    from harness.targets.stageflow import STAGEFLOW_SEMANTICS

    return ModuleTarget(streaming, name="stageflow",
                        version=_version("stageflow-core", streaming),
                        semantics=STAGEFLOW_SEMANTICS)


def _adapter(module: str, cls: str) -> Callable[[], Adapter]:
    def make() -> Adapter:
        return getattr(importlib.import_module(f"harness.targets.{module}"), cls)()
    return make


BUILTIN_TARGETS: dict[str, Builtin] = {b.name: b for b in (
    Builtin("stageflow_core", "this project's library (queue, buffer, chunk, duplex)", None,
            "pip install stageflow-stress", _stageflow_core),
    Builtin("stageflow", "Stageflow's streaming helpers (stageflow.helpers.streaming)",
            "stageflow-core", "pip install 'stageflow-stress[peer]'", _stageflow),
    Builtin("asyncio", "the standard library's asyncio.Queue", None, "(standard library)",
            _adapter("asyncio_queue", "AsyncioTarget")),
    Builtin("anyio", "anyio memory object streams", "anyio", TARGETS_EXTRA,
            _adapter("anyio_streams", "AnyioTarget")),
    Builtin("janus", "janus.Queue, async side", "janus", TARGETS_EXTRA,
            _adapter("janus_queue", "JanusTarget")),
    Builtin("culsans", "culsans.Queue, async side", "culsans", TARGETS_EXTRA,
            _adapter("culsans_queue", "CulsansTarget")),
    Builtin("aiochannel", "aiochannel.Channel", "aiochannel", TARGETS_EXTRA,
            _adapter("aiochannel_channel", "AiochannelTarget")),
    Builtin("livekit", "livekit-agents' utils.aio.Chan", "livekit-agents", LIVEKIT_INSTALL,
            _adapter("livekit_chan", "LivekitTarget")),
)}
"""The targets named on the command line without a module path."""


def builtin_status(name: str) -> dict[str, Any]:
    """What ``list --targets`` shows for a built-in: version, parts and capabilities, or
    the command that installs it."""
    builtin = BUILTIN_TARGETS[name]
    row: dict[str, Any] = {"name": name, "summary": builtin.summary,
                           "distribution": builtin.distribution, "installed": False,
                           "install": builtin.install}
    if not builtin.installed():
        return row
    try:
        target = load_target(name)
    except HarnessError as exc:
        row["error"] = str(exc)
        return row
    row.update(installed=True, version=target.version,
               parts=[part for part in PARTS if target.has(part)],
               capabilities=target.capabilities.names(),
               semantics=target.semantics.as_list())
    return row


def _version(dist: str | None, module: ModuleType) -> str:
    if dist:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    top = module.__name__.split(".")[0]
    for candidate in importlib.metadata.packages_distributions().get(top, []):
        try:
            return importlib.metadata.version(candidate)
        except importlib.metadata.PackageNotFoundError:
            continue
    return str(getattr(module, "__version__", "unknown"))


def _import(module_name: str, spec: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise HarnessError(f"target {spec!r}: cannot import {module_name}: {exc}") from None
    except Exception as exc:  # a user's module that fails while importing
        raise HarnessError(
            f"target {spec!r}: importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from None


def _builtin(spec: str) -> Adapter:
    builtin = BUILTIN_TARGETS[spec]
    if not builtin.installed():
        raise HarnessError(f"target {spec!r} needs {builtin.distribution}, which is not "
                           f"installed: {builtin.install}")
    try:
        return builtin.make()
    except ImportError as exc:
        raise HarnessError(f"target {spec!r}: cannot import {builtin.distribution or spec}: "
                           f"{exc} ({builtin.install})") from None


def load_target(spec: str, *, check: bool = True) -> Adapter:
    """Resolve a target spec (docs/targets.md) and check it (``check=False``: don't).

    :raises HarnessError: unknown or uninstalled built-in, unimportable module, missing
        factory, wrong shape, or a declared part without a method it needs.
    """
    spec = spec.strip()
    if not spec:
        raise HarnessError("target spec is empty")
    if spec == "pipecat" or spec.startswith("pipeline:"):
        from harness.pipeline_targets import load_pipeline_target

        target: Adapter = as_target(load_pipeline_target(spec), spec)
    elif spec in BUILTIN_TARGETS:
        target = _builtin(spec)
    else:
        target = _load_user(spec)
    if check:
        check_target(target)
    return target


def _load_user(spec: str) -> Adapter:
    module_name, _, factory_name = spec.partition(":")
    if not module_name.replace(".", "").replace("_", "").isalnum():
        raise HarnessError(
            f"unknown target {spec!r}: use a built-in ({', '.join(BUILTIN_TARGETS)}), "
            "package.module or package.module:factory"
        )
    module = _import(module_name, spec)
    if not factory_name:
        return ModuleTarget(module, name=spec, version=_version(None, module))
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise HarnessError(f"target {spec!r}: {module_name} has no callable {factory_name!r}")
    try:
        made = factory()
    except Exception as exc:
        raise HarnessError(
            f"target {spec!r}: {factory_name}() raised {type(exc).__name__}: {exc}"
        ) from None
    if isinstance(made, ModuleType):
        return ModuleTarget(made, name=spec, version=_version(None, made))
    return as_target(made, spec)
