"""Targets: the implementation under test, and what it can do.

A target hands scenarios factories for the queue, the buffer and chunks, and its
capabilities, so that one scenario runs unchanged against our library, the real Stageflow
or a user's own implementation. Capabilities are read from the implementation itself
(signatures and attributes), never from a table of known libraries, so a new version of a
peer that gains ``put(timeout=)`` is credited for it automatically.

Target specs accepted by :func:`load_target`:

- ``stageflow_core`` (default): this project's library.
- ``stageflow``: the real Stageflow (``pip install .[peer]``), ``stageflow.helpers.streaming``.
- ``package.module``: any module with Stageflow's streaming API (``ChunkQueue``,
  ``StreamingBuffer``, ``AudioChunk``, ``AudioFormat``).
- ``package.module:factory``: ``factory()`` returns either such a module or an object with
  the :class:`Target` attributes (``name``, ``version``, ``capabilities``, ``make_queue``,
  ``make_buffer``, ``make_chunk``).
- ``pipecat`` and ``pipeline:package.module:factory``: a voice pipeline only (no queue or
  buffer), see :mod:`harness.pipeline_targets`.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import inspect
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from harness.contract import Declaration, Semantics
from harness.errors import HarnessError

__all__ = [
    "BUILTIN_SEMANTICS",
    "BUILTIN_TARGETS",
    "OVERFLOW_POLICIES",
    "Capabilities",
    "CapabilityMissing",
    "ModuleTarget",
    "Target",
    "load_target",
]

OVERFLOW_POLICIES = ("block", "drop_oldest", "drop_newest", "reject")
EventEmitter = Callable[[str, dict[str, Any]], None]

_SF = "stageflow/helpers/streaming.py"
_OURS = "stageflow_core"
# spec -> what the library says it does, each with where it says so (harness/contract.py)
BUILTIN_SEMANTICS: dict[str, Semantics] = {
    "stageflow": Semantics([
        Declaration("queue.full_put", "block", f"{_SF}, ChunkQueue class docstring",
                    "await queue.put(chunk)  # Blocks if full"),
        Declaration("queue.closed_put", "return_false",
                    f"{_SF}, ChunkQueue.put (docstring and first line)",
                    "Returns: True if added, False if dropped. / if self._closed: return False"),
        Declaration("queue.end_of_stream", "return_none", f"{_SF}, ChunkQueue.get docstring",
                    "Returns: The item, or None if queue is closed."),
        Declaration("queue.none_item", "end_marker", f"{_SF}, ChunkQueue.__anext__ and close()",
                    "if item is None: raise StopAsyncIteration"),
        Declaration("queue.close_wakes_getters", True, f"{_SF}, ChunkQueue.get docstring",
                    "Returns: The item, or None if queue is closed."),
        Declaration("queue.close_delivers_pending", True, f"{_SF}, ChunkQueue.close code",
                    "Try to signal end without blocking or dropping items"),
        Declaration("monitor.throttle_marks", True,
                    f"{_SF}, BackpressureMonitor.__init__ docstring",
                    "high_water_mark: Queue fill % to trigger throttling. low_water_mark: "
                    "Queue fill % to stop throttling."),
        Declaration("buffer.overflow_trim", "fixed_step", f"{_SF}, StreamingBuffer.add_chunk",
                    "Drop oldest data if over max ... # Drop 50ms"),
        Declaration("buffer.readiness", "duration",
                    f"{_SF}, StreamingBuffer.is_ready/is_full",
                    "Check if buffer has reached target level (duration_ms >= target)"),
        Declaration("buffer.underrun_events", True, f"{_SF}, StreamingBuffer.read",
                    "Detect underrun (requested more than available)"),
        Declaration("buffer.overflow_events", True, f"{_SF}, StreamingBuffer.add_chunk",
                    "stream.buffer_overflow with bytes_dropped"),
    ]),
    "stageflow_core": Semantics([
        Declaration("queue.full_put", "block_with_timeout", f"{_OURS}/queue.py, ChunkQueue.put",
                    "put(item, *, timeout=None): raises QueueFull when the timeout expires"),
        Declaration("queue.closed_put", "raise", f"{_OURS}/queue.py, ChunkQueue docstring",
                    "close() wakes every waiting put (QueueClosed)"),
        Declaration("queue.end_of_stream", "return_none", f"{_OURS}/queue.py, ChunkQueue",
                    "then get() returns None and async for ends"),
        Declaration("queue.none_item", "refused", f"{_OURS}/queue.py, ChunkQueue docstring",
                    "None is therefore not a valid item."),
        Declaration("queue.close_wakes_getters", True, f"{_OURS}/queue.py, ChunkQueue docstring"),
        Declaration("queue.close_wakes_putters", True, f"{_OURS}/queue.py, ChunkQueue docstring"),
        Declaration("queue.close_delivers_pending", True, f"{_OURS}/queue.py, ChunkQueue"),
        Declaration("queue.close_idempotent", True, f"{_OURS}/queue.py, close_nowait",
                    "Close the queue (idempotent)"),
        *(Declaration(clause, True, "docs/backpressure.md and the stageflow_core docstrings")
          for clause in ("queue.drop_events", "queue.blocked_events", "queue.validates_config",
                         "queue.validates_input", "buffer.validates_chunks",
                         "buffer.validates_config", "buffer.validates_input",
                         "buffer.underrun_events", "buffer.overflow_events",
                         "chunk.validates_config", "monitor.validates_config",
                         "monitor.validates_input", "monitor.throttle_marks",
                         "functions.validates_input")),
        Declaration("queue.event_payloads", "ours", "docs/backpressure.md, events"),
        Declaration("buffer.event_payloads", "ours", "docs/backpressure.md, events"),
        Declaration("buffer.overflow_trim", "minimal", f"{_OURS}/buffer.py, StreamingBuffer",
                    "On overflow it trims exactly the oldest excess"),
        Declaration("buffer.readiness", "whole_frames", f"{_OURS}/buffer.py, is_ready",
                    "whole frames, rounded up, at most the capacity"),
        Declaration("events.emitter_failures", "visible", f"{_OURS}/events.py",
                    "caught, counted in errors and logged once"),
    ]),
}
"""The declared semantics of the built-in targets (a user's target declares its own with a
``semantics`` attribute; absent, it declares nothing)."""

# spec -> (module to import, distribution whose version is reported)
BUILTIN_TARGETS: dict[str, tuple[str, str]] = {
    "stageflow_core": ("stageflow_core", "stageflow-stress"),
    "stageflow": ("stageflow.helpers.streaming", "stageflow-core"),
}
_PEER_HINT = {"stageflow": "install the peer extra: pip install '.[peer]'"}


class CapabilityMissing(Exception):
    """The target cannot do what a scenario asked for (e.g. a put timeout)."""

    def __init__(self, capability: str, target: str) -> None:
        super().__init__(f"target {target!r} lacks capability {capability!r}")
        self.capability = capability
        self.target = target


@dataclass(frozen=True)
class Capabilities:
    """What a target's primitives can do, read from the implementation."""

    put_timeout: bool = False
    """``put(item, timeout=...)`` exists (and raises on expiry)."""
    put_nowait: bool = False
    """``put_nowait(item)`` exists."""
    overflow_policies: frozenset[str] = frozenset({"block"})
    """Overflow policies the queue accepts, a subset of :data:`OVERFLOW_POLICIES`."""
    batch: bool = False
    """``put_many`` / ``get_many`` exist."""
    buffer_level: bool = False
    """``StreamingBuffer.current_ms`` / ``current_bytes`` exist (IMP-054)."""
    buffer_formats: bool = False
    """``StreamingBuffer(format=...)`` accepts PCM formats other than PCM_16."""
    statistics: bool = False
    """``statistics()`` snapshots exist on queue and buffer."""
    duplex: bool = False
    """``StreamingAudioDuplex`` exists."""
    pipeline: bool = False
    """A voice pipeline can be built (``make_voice_pipeline``; harness.pipeline_targets)."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["overflow_policies"] = sorted(self.overflow_policies)
        return data

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Capabilities:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise HarnessError(f"unknown capabilities {unknown}; known: {sorted(known)}")
        values = dict(data)
        if "overflow_policies" in values:
            values["overflow_policies"] = frozenset(values["overflow_policies"])
        return cls(**values)


@runtime_checkable
class Target(Protocol):
    """The implementation under test, as scenarios see it."""

    name: str
    version: str
    capabilities: Capabilities
    closed_errors: tuple[type[BaseException], ...]
    full_errors: tuple[type[BaseException], ...]

    def make_queue(
        self, max_size: int = 100, *, overflow: str = "block",
        event_emitter: EventEmitter | None = None,
    ) -> Any: ...

    def make_buffer(
        self, *, target_duration_ms: float, max_duration_ms: float, sample_rate: int,
        channels: int, fmt: str = "pcm_16", event_emitter: EventEmitter | None = None,
    ) -> Any: ...

    def make_chunk(
        self, data: bytes, *, sample_rate: int, channels: int, fmt: str = "pcm_16",
        timestamp_ms: float = 0.0, sequence: int = 0,
    ) -> Any: ...

    def make_duplex(self, **kwargs: Any) -> Any: ...


def _params(func: Any) -> set[str]:
    try:
        return set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return set()


class ModuleTarget:
    """A target backed by a module with Stageflow's streaming API."""

    def __init__(self, module: ModuleType, *, name: str, version: str,
                 semantics: Semantics | None = None) -> None:
        missing = [n for n in ("ChunkQueue", "StreamingBuffer", "AudioChunk", "AudioFormat")
                   if not hasattr(module, n)]
        if missing:
            raise HarnessError(
                f"target {name!r}: module {module.__name__} has no {', '.join(missing)}"
            )
        self.module = module
        self.name = name
        self.version = version
        self.semantics = semantics if semantics is not None else Semantics()
        """What the target declares it does (harness/contract.py); empty: nothing."""
        self._queue_cls = module.ChunkQueue
        self._buffer_cls = module.StreamingBuffer
        self._chunk_cls = module.AudioChunk
        self._format = module.AudioFormat
        self._formats: dict[str, Any] = {}  # make_chunk is on the hot path: look up once
        self.capabilities = self._detect()
        self.closed_errors: tuple[type[BaseException], ...] = tuple(
            e for e in (getattr(module, "QueueClosed", None),) if e is not None
        )
        full = getattr(module, "QueueFull", None)
        self.full_errors: tuple[type[BaseException], ...] = (
            (full,) if full is not None else (asyncio.QueueFull,)
        )

    def _detect(self) -> Capabilities:
        queue_init = _params(self._queue_cls.__init__)
        if "overflow" in queue_init:
            policies = {"block"}
            for policy in OVERFLOW_POLICIES[1:]:
                try:
                    self._queue_cls(1, overflow=policy)
                except (ValueError, TypeError):
                    continue
                policies.add(policy)
        elif "drop_on_overflow" in queue_init:
            policies = {"block", "drop_oldest"}
        else:
            policies = {"block"}
        return Capabilities(
            put_timeout="timeout" in _params(self._queue_cls.put),
            put_nowait=callable(getattr(self._queue_cls, "put_nowait", None)),
            overflow_policies=frozenset(policies),
            batch=all(callable(getattr(self._queue_cls, m, None))
                      for m in ("put_many", "get_many")),
            buffer_level=all(hasattr(self._buffer_cls, a) for a in ("current_ms", "current_bytes")),
            buffer_formats="format" in _params(self._buffer_cls.__init__),
            statistics=all(callable(getattr(c, "statistics", None))
                           for c in (self._queue_cls, self._buffer_cls)),
            duplex=hasattr(self.module, "StreamingAudioDuplex"),
        )

    def require(self, capability: str) -> None:
        """Raise :class:`CapabilityMissing` unless the target has ``capability``."""
        if not getattr(self.capabilities, capability):
            raise CapabilityMissing(capability, self.name)

    def audio_format(self, fmt: str) -> Any:
        """The target's ``AudioFormat`` member for a lowercase format value."""
        member = self._formats.get(fmt)
        if member is None:
            try:
                member = self._formats[fmt] = self._format(fmt)
            except ValueError:
                raise CapabilityMissing(f"format:{fmt}", self.name) from None
        return member

    def make_queue(
        self, max_size: int = 100, *, overflow: str = "block",
        event_emitter: EventEmitter | None = None,
    ) -> Any:
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow must be one of {OVERFLOW_POLICIES}, got {overflow!r}")
        if overflow not in self.capabilities.overflow_policies:
            raise CapabilityMissing(f"overflow:{overflow}", self.name)
        kwargs: dict[str, Any] = {"event_emitter": event_emitter}
        if "overflow" in _params(self._queue_cls.__init__):
            kwargs["overflow"] = overflow
        elif overflow == "drop_oldest":
            kwargs["drop_on_overflow"] = True
        return self._queue_cls(max_size, **kwargs)

    def make_buffer(
        self, *, target_duration_ms: float, max_duration_ms: float, sample_rate: int,
        channels: int, fmt: str = "pcm_16", event_emitter: EventEmitter | None = None,
    ) -> Any:
        kwargs: dict[str, Any] = {
            "target_duration_ms": target_duration_ms, "max_duration_ms": max_duration_ms,
            "sample_rate": sample_rate, "channels": channels, "event_emitter": event_emitter,
        }
        if self.capabilities.buffer_formats:
            kwargs["format"] = self.audio_format(fmt)
        elif fmt != "pcm_16":
            raise CapabilityMissing("buffer_formats", self.name)
        return self._buffer_cls(**kwargs)

    def make_chunk(
        self, data: bytes, *, sample_rate: int, channels: int, fmt: str = "pcm_16",
        timestamp_ms: float = 0.0, sequence: int = 0,
    ) -> Any:
        return self._chunk_cls(
            data=data, sample_rate=sample_rate, channels=channels,
            format=self.audio_format(fmt), timestamp_ms=timestamp_ms, sequence=sequence,
        )

    def make_duplex(self, **kwargs: Any) -> Any:
        self.require("duplex")
        return self.module.StreamingAudioDuplex(**kwargs)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version,
                "capabilities": self.capabilities.as_dict(),
                "semantics": self.semantics.as_list()}


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
        hint = _PEER_HINT.get(spec)
        suffix = f" ({hint})" if hint else ""
        raise HarnessError(f"target {spec!r}: cannot import {module_name}: {exc}{suffix}") from None
    except Exception as exc:  # a user's module that fails while importing
        raise HarnessError(
            f"target {spec!r}: importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from None


def _check_shape(obj: Any, spec: str) -> Any:
    required = ("name", "version", "capabilities", "make_queue", "make_buffer", "make_chunk")
    missing = [attr for attr in required if not hasattr(obj, attr)]
    if missing:
        raise HarnessError(
            f"target {spec!r}: factory returned {type(obj).__name__} without {', '.join(missing)}"
        )
    if isinstance(obj.capabilities, Mapping):
        obj.capabilities = Capabilities.from_mapping(obj.capabilities)
    elif not isinstance(obj.capabilities, Capabilities):
        raise HarnessError(f"target {spec!r}: capabilities must be a Capabilities or a mapping")
    if not hasattr(obj, "closed_errors"):
        obj.closed_errors = ()
    if not hasattr(obj, "full_errors"):
        obj.full_errors = (asyncio.QueueFull,)
    if not hasattr(obj, "make_duplex"):
        def make_duplex(**_: Any) -> Any:
            raise CapabilityMissing("duplex", str(obj.name))
        obj.make_duplex = make_duplex
    return obj


def load_target(spec: str) -> Target:
    """Resolve a target spec (see the module docstring).

    :raises HarnessError: unknown or unimportable module, missing factory, wrong shape.
    """
    spec = spec.strip()
    if not spec:
        raise HarnessError("target spec is empty")
    if spec == "pipecat" or spec.startswith("pipeline:"):
        from harness.pipeline_targets import load_pipeline_target

        return load_pipeline_target(spec)
    if spec in BUILTIN_TARGETS:
        module_name, dist = BUILTIN_TARGETS[spec]
        module = _import(module_name, spec)
        target = ModuleTarget(module, name=spec, version=_version(dist, module),
                              semantics=BUILTIN_SEMANTICS.get(spec))
        if spec == "stageflow_core":
            from harness.pipeline_targets import stageflow_voice
            from stageflow_core.templates import iot_fan_in

            target.make_voice_pipeline = stageflow_voice  # type: ignore[attr-defined]
            target.make_fan_in = iot_fan_in  # type: ignore[attr-defined]
            target.capabilities = replace(target.capabilities, pipeline=True)
        return target
    module_name, _, factory_name = spec.partition(":")
    if not module_name.replace(".", "").replace("_", "").isalnum():
        raise HarnessError(
            f"unknown target {spec!r}: use stageflow_core, stageflow, package.module "
            "or package.module:factory"
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
    return _check_shape(made, spec)
