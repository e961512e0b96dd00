"""What a corpus member is, and how it becomes a target the harness can run.

A member is a complete queue and/or buffer implementation with the semantics it declares
(:class:`harness.contract.Semantics`, each declaration ``where="selftest corpus: <module>"``)
and, when it is a seeded defect, the one clause it breaks (:class:`Breaks`). Seeded
members are small subclasses of a clean one, so the defect is exactly the overridden lines.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import stageflow_core
from harness.contract import Declaration, Semantics
from harness.defects import DefectKey
from harness.targets import Capabilities, CapabilityMissing, ModuleTarget

__all__ = [
    "Breaks",
    "CorpusTarget",
    "declare",
    "derived_target",
]

VERSION = "selftest"


@dataclass(frozen=True)
class Breaks:
    """The one clause a seeded member breaks, and how the judge must name it.

    ``component`` and ``prop`` are the :class:`~harness.defects.DefectKey` fields a finding
    of this defect carries; ``operations`` the operation strings that name it (empty: any
    operation of that component and property is the right clause).
    """

    clause: str
    """The contract clause in words (or a ``harness.contract`` clause name)."""
    component: str
    prop: str
    operations: tuple[str, ...] = ()
    modelled_on: str = ""
    """The kind of defect found in real libraries that this one reproduces."""

    def matches(self, key: DefectKey) -> bool:
        """True when ``key`` names this defect: same component and property, and one of
        ``operations`` when any are given."""
        if key.component != self.component or key.property != self.prop:
            return False
        return not self.operations or key.operation in self.operations

    def as_dict(self) -> dict[str, Any]:
        return {"clause": self.clause, "component": self.component, "property": self.prop,
                "operations": list(self.operations), "modelled_on": self.modelled_on}


def declare(module: str, **values: Any) -> Semantics:
    """Semantics from ``clause=value`` keywords (dots written as ``__``), each declared
    ``where="selftest corpus: <module>"``."""
    where = f"selftest corpus: {module}"
    return Semantics(Declaration(name.replace("__", "."), value, where)
                     for name, value in values.items())


def _namespace(name: str, **overrides: Any) -> types.ModuleType:
    """A module object with stageflow_core's public API and ``overrides`` on top."""
    module = types.ModuleType(name)
    for attr in stageflow_core.__all__:
        setattr(module, attr, getattr(stageflow_core, attr))
    for attr, value in overrides.items():
        setattr(module, attr, value)
    return module


def derived_target(name: str, *, semantics: Semantics, breaks: Breaks | None = None,
                   **overrides: Any) -> ModuleTarget:
    """Our library with some classes replaced (``ChunkQueue=...``): the target of a member
    built on stageflow_core. Capabilities are read from the classes as for any module."""
    target = ModuleTarget(_namespace(name, **overrides), name=name, version=VERSION)
    target.semantics = semantics  # type: ignore[attr-defined]
    target.breaks = breaks  # type: ignore[attr-defined]
    return target


class CorpusTarget:
    """A target from explicit classes, for members that have only some parts (a queue-only
    wrapper of asyncio.Queue, a buffer-only implementation). Chunks are stageflow_core's."""

    def __init__(self, name: str, *, semantics: Semantics, capabilities: Capabilities,
                 queue_cls: Callable[..., Any] | None = None,
                 buffer_cls: Callable[..., Any] | None = None,
                 closed_errors: Iterable[type[BaseException]] = (),
                 full_errors: Iterable[type[BaseException]] = (asyncio.QueueFull,),
                 breaks: Breaks | None = None) -> None:
        self.name = name
        self.version = VERSION
        self.capabilities = capabilities
        self.semantics = semantics
        self.breaks = breaks
        self.closed_errors = tuple(closed_errors)
        self.full_errors = tuple(full_errors)
        self._queue_cls = queue_cls
        self._buffer_cls = buffer_cls
        has = (("queue", queue_cls), ("buffer", buffer_cls))
        self.parts = frozenset((*(part for part, cls in has if cls is not None), "chunk"))
        extra = {"ChunkQueue": queue_cls, "StreamingBuffer": buffer_cls}
        self.module = _namespace(name, **{k: v for k, v in extra.items() if v is not None})
        for attr, cls in extra.items():
            if cls is None and hasattr(self.module, attr):
                delattr(self.module, attr)

    def has(self, part: str) -> bool:
        return part in self.parts

    def make_queue(self, max_size: int = 100, *, overflow: str | None = None,
                   event_emitter: Any = None) -> Any:
        """A queue with ``overflow`` (None: its own policy; a queue that never blocks has
        no ``block`` to default to)."""
        if self._queue_cls is None:
            raise CapabilityMissing("part:queue", self.name)
        if overflow is None:
            overflow = min(self.capabilities.overflow_policies)
        if overflow not in self.capabilities.overflow_policies:
            raise CapabilityMissing(f"overflow:{overflow}", self.name)
        return self._queue_cls(max_size, event_emitter=event_emitter)

    def make_buffer(self, *, target_duration_ms: float, max_duration_ms: float,
                    sample_rate: int, channels: int, fmt: str = "pcm_16",
                    event_emitter: Any = None) -> Any:
        if self._buffer_cls is None:
            raise CapabilityMissing("part:buffer", self.name)
        if fmt != "pcm_16" and not self.capabilities.buffer_formats:
            raise CapabilityMissing("buffer_formats", self.name)
        return self._buffer_cls(target_duration_ms=target_duration_ms,
                                max_duration_ms=max_duration_ms, sample_rate=sample_rate,
                                channels=channels, event_emitter=event_emitter)

    def make_chunk(self, data: bytes, *, sample_rate: int, channels: int, fmt: str = "pcm_16",
                   timestamp_ms: float = 0.0, sequence: int = 0) -> Any:
        return stageflow_core.AudioChunk(data=data, sample_rate=sample_rate, channels=channels,
                                         format=self.audio_format(fmt),
                                         timestamp_ms=timestamp_ms, sequence=sequence)

    def audio_format(self, fmt: str) -> Any:
        try:
            return stageflow_core.AudioFormat(fmt)
        except ValueError:
            raise CapabilityMissing(f"format:{fmt}", self.name) from None

    def make_duplex(self, **_: Any) -> Any:
        raise CapabilityMissing("part:duplex", self.name)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version,
                "capabilities": self.capabilities.as_dict()}
