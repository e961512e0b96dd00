"""A target backed by a module with Stageflow's streaming API (ours, the real Stageflow, or
a user's ``package.module``): the module's own objects are handed to scenarios unchanged.

Capabilities are read from the implementation itself (signatures and attributes), never
from a table of known libraries, so a new version of a peer that gains ``put(timeout=)``
is credited for it automatically.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

from harness.contract import Semantics
from harness.errors import HarnessError
from harness.targets.base import (
    OVERFLOW_POLICIES,
    Adapter,
    Capabilities,
    CapabilityMissing,
    EventEmitter,
    takes_parameter,
)

__all__ = ["ModuleTarget"]

REQUIRED = ("ChunkQueue", "StreamingBuffer", "AudioChunk", "AudioFormat")


class ModuleTarget(Adapter):
    """Parts: queue (``ChunkQueue``), buffer (``StreamingBuffer``), chunk (``AudioChunk``),
    and duplex when the module has ``StreamingAudioDuplex``."""

    def __init__(self, module: ModuleType, *, name: str, version: str,
                 semantics: Semantics | None = None) -> None:
        missing = [n for n in REQUIRED if not hasattr(module, n)]
        if missing:
            raise HarnessError(
                f"target {name!r}: module {module.__name__} has no {', '.join(missing)}"
            )
        self.module = module
        self.name = name
        self.version = version
        self._queue_cls = module.ChunkQueue
        self._buffer_cls = module.StreamingBuffer
        self._chunk_cls = module.AudioChunk
        self._format = module.AudioFormat
        self._formats: dict[str, Any] = {}  # make_chunk is on the hot path: look up once
        self._takes_overflow = takes_parameter(self._queue_cls.__init__, "overflow")
        self.capabilities = self._detect()
        parts = {"queue", "buffer", "chunk"}
        if self.capabilities.duplex:
            parts.add("duplex")
        self.parts = frozenset(parts)
        self.semantics = semantics if semantics is not None else Semantics()
        closed = getattr(module, "QueueClosed", None)
        self.closed_errors = (closed,) if closed is not None else ()
        full = getattr(module, "QueueFull", None)
        self.full_errors = (full,) if full is not None else (asyncio.QueueFull,)
        empty = getattr(module, "QueueEmpty", None)
        self.empty_errors = (empty,) if empty is not None else (asyncio.QueueEmpty,)
        super().__init__()

    def _detect(self) -> Capabilities:
        queue, buffer = self._queue_cls, self._buffer_cls
        if self._takes_overflow:
            policies = {"block"}
            for policy in OVERFLOW_POLICIES[1:]:
                try:
                    queue(1, overflow=policy)
                except (ValueError, TypeError):
                    continue
                policies.add(policy)
        elif takes_parameter(queue.__init__, "drop_on_overflow"):
            policies = {"block", "drop_oldest"}
        else:
            policies = {"block"}
        return Capabilities(
            put_timeout=takes_parameter(queue.put, "timeout"),
            put_nowait=callable(getattr(queue, "put_nowait", None)),
            get_nowait=callable(getattr(queue, "get_nowait", None)),
            close=callable(getattr(queue, "close", None)),
            level=callable(getattr(queue, "__len__", None)),
            iterate=callable(getattr(queue, "__anext__", None)),
            overflow_policies=frozenset(policies),
            batch=all(callable(getattr(queue, m, None)) for m in ("put_many", "get_many")),
            events=takes_parameter(queue.__init__, "event_emitter"),
            monitor=hasattr(queue, "monitor"),
            buffer_level=all(hasattr(buffer, a) for a in ("current_ms", "current_bytes")),
            buffer_formats=takes_parameter(buffer.__init__, "format"),
            statistics=all(callable(getattr(c, "statistics", None)) for c in (queue, buffer)),
            duplex=hasattr(self.module, "StreamingAudioDuplex"),
        )

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
        self.check_overflow(overflow)
        kwargs: dict[str, Any] = {"event_emitter": event_emitter}
        if self._takes_overflow:
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
        if "duplex" not in self.parts:
            raise CapabilityMissing("part:duplex", self.name)
        return self.module.StreamingAudioDuplex(**kwargs)
