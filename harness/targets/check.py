"""Check that a target has what it declares, before any scenario runs.

:func:`check_target` builds one object of every part the target declares (inside an event
loop, as scenarios do) and looks for the methods that part and the target's capabilities
need; the first one missing is a one-line :class:`~harness.errors.HarnessError` naming it.
:func:`as_target` gives an object with the older factory shape (no ``parts``, no
``semantics``) the full :class:`~harness.targets.base.Target` protocol.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from harness.contract import Declaration, Semantics
from harness.errors import HarnessError
from harness.targets.base import (
    PARTS,
    Adapter,
    Capabilities,
    CapabilityMissing,
    Chunk,
    takes_parameter,
)

__all__ = ["BUFFER_NEEDS", "QUEUE_NEEDS", "FactoryTarget", "as_target", "check_target"]

QUEUE_NEEDS: dict[str | None, tuple[str, ...]] = {
    None: ("put", "get"),
    "put_nowait": ("put_nowait",),
    "get_nowait": ("get_nowait",),
    "close": ("close",),
    "level": ("__len__",),
    "iterate": ("__aiter__", "__anext__"),
    "batch": ("put_many", "get_many"),
    "statistics": ("statistics",),
    "monitor": ("monitor",),
}
"""Queue methods: always needed (``None``), and needed by each capability."""
BUFFER_NEEDS: dict[str | None, tuple[str, ...]] = {
    None: ("add_chunk", "read", "is_ready", "duration_ms"),
    "buffer_level": ("current_ms", "current_bytes"),
    "statistics": ("statistics",),
}
"""Buffer methods and attributes: always needed, and needed by each capability."""
CHUNK_NEEDS = ("data", "sequence")
PART_MAKERS = {"pipeline": ("make_voice_pipeline", "make_pipeline")}
"""What builds a part, when it is not ``make_<part>``: a voice pipeline
(harness.pipeline_targets) is built per scenario by ``make_voice_pipeline``."""


def _missing(obj: Any, needs: Mapping[str | None, tuple[str, ...]],
             capabilities: Capabilities) -> tuple[str, str] | None:
    for capability, names in needs.items():
        if capability is not None and not getattr(capabilities, capability):
            continue
        for name in names:
            if not hasattr(obj, name):
                return name, ("required" if capability is None else
                              f"declared by capability {capability!r}")
    return None


def _run(probe: Callable[[], Awaitable[None]]) -> None:
    """Run ``probe()`` on a private event loop (in a worker thread if this thread already
    runs one), so objects that bind a loop when made are made as scenarios make them."""
    def on_fresh_loop() -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(probe())
        finally:
            loop.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        on_fresh_loop()
        return
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(on_fresh_loop).result()


def check_target(target: Any) -> None:
    """Build one object of each declared part and check its methods.

    :raises HarnessError: an unknown part, a missing ``make_<part>``, a ``make_<part>``
        that fails, or an object without a method its part or capabilities need.
    """
    name = target.name
    unknown = sorted(set(target.parts) - set(PARTS))
    if unknown:
        raise HarnessError(f"target {name!r}: unknown part {unknown[0]!r}; parts are "
                           f"{', '.join(PARTS)}")
    for part in sorted(target.parts):
        makers = PART_MAKERS.get(part, (f"make_{part}",))
        if not any(callable(getattr(target, maker, None)) for maker in makers):
            raise HarnessError(f"target {name!r} declares part {part!r} but has no "
                               f"{makers[0]}()")
    caps = target.capabilities

    def fail(part: str, what: str, missing: tuple[str, str]) -> HarnessError:
        method, why = missing
        return HarnessError(f"target {name!r} declares part {part!r}, but its {what} has no "
                            f"{method!r} ({why})")

    async def probe() -> None:
        if target.has("queue"):
            queue = _make(target, "queue", lambda: target.make_queue(2))
            missing = _missing(queue, QUEUE_NEEDS, caps)
            if missing is None and caps.put_timeout and not takes_parameter(queue.put,
                                                                             "timeout"):
                missing = ("put(timeout=)", "declared by capability 'put_timeout'")
            if missing is not None:
                raise fail("queue", "queue", missing)
            if caps.close:
                result = queue.close()
                if asyncio.iscoroutine(result):
                    await result
        if target.has("buffer"):
            buffer = _make(target, "buffer", lambda: target.make_buffer(
                target_duration_ms=20.0, max_duration_ms=200.0, sample_rate=16_000,
                channels=1))
            missing = _missing(buffer, BUFFER_NEEDS, caps)
            if missing is not None:
                raise fail("buffer", "buffer", missing)
        if target.has("chunk"):
            chunk = _make(target, "chunk", lambda: target.make_chunk(
                b"\0\0", sample_rate=16_000, channels=1, sequence=1))
            for attr in CHUNK_NEEDS:
                if not hasattr(chunk, attr):
                    raise fail("chunk", "chunk", (attr, "required"))

    _run(probe)


def _make(target: Any, part: str, make: Callable[[], Any]) -> Any:
    try:
        return make()
    except Exception as exc:
        raise HarnessError(f"target {target.name!r} declares part {part!r}, but "
                           f"make_{part}() raised {type(exc).__name__}: {exc}") from None


class FactoryTarget(Adapter):
    """A user's factory object in the full target protocol.

    What it lacks is filled in from what it has: ``parts`` from its ``make_*`` methods
    (``duplex`` only with the duplex capability), ``semantics`` empty, the error tuples
    with the defaults of :class:`Adapter`. ``make_*`` of a part it has call its own.
    """

    def __init__(self, obj: Any, spec: str) -> None:
        self.wrapped = obj
        self.name = str(obj.name)
        self.version = str(obj.version)
        caps = obj.capabilities
        if isinstance(caps, Mapping):
            caps = Capabilities.from_mapping(caps)
        elif not isinstance(caps, Capabilities):
            raise HarnessError(f"target {spec!r}: capabilities must be a Capabilities or a "
                               "mapping")
        parts = getattr(obj, "parts", None)
        if parts is None:
            parts = {p for p in ("queue", "buffer", "chunk")
                     if callable(getattr(obj, f"make_{p}", None))}
            if caps.duplex and callable(getattr(obj, "make_duplex", None)):
                parts.add("duplex")
            if caps.pipeline and callable(getattr(obj, "make_voice_pipeline", None)):
                parts.add("pipeline")
        self.parts = frozenset(parts)
        if "duplex" in self.parts and not caps.duplex:
            caps = Capabilities.from_mapping({**caps.as_dict(), "duplex": True})
        self.capabilities = caps
        semantics = getattr(obj, "semantics", None)
        if semantics is None:
            semantics = Semantics()
        elif not isinstance(semantics, Semantics):
            try:
                semantics = Semantics(d if isinstance(d, Declaration) else Declaration(**d)
                                      for d in semantics)
            except (TypeError, ValueError) as exc:
                raise HarnessError(f"target {spec!r}: bad semantics: {exc}") from None
        self.semantics = semantics
        for attr in ("closed_errors", "full_errors", "empty_errors", "end_errors"):
            if hasattr(obj, attr):
                setattr(self, attr, tuple(getattr(obj, attr)))
        if hasattr(obj, "module"):
            self.module = obj.module
        super().__init__()

    def make_queue(self, max_size: int = 100, **kwargs: Any) -> Any:
        if "queue" not in self.parts:
            raise CapabilityMissing("part:queue", self.name)
        return self.wrapped.make_queue(max_size, **kwargs)

    def make_buffer(self, **kwargs: Any) -> Any:
        if "buffer" not in self.parts:
            raise CapabilityMissing("part:buffer", self.name)
        return self.wrapped.make_buffer(**kwargs)

    def make_chunk(self, data: bytes, **kwargs: Any) -> Any:
        if "chunk" not in self.parts:
            return Chunk(data, **{("format" if k == "fmt" else k): v
                                  for k, v in kwargs.items()})
        return self.wrapped.make_chunk(data, **kwargs)

    def make_duplex(self, **kwargs: Any) -> Any:
        if "duplex" not in self.parts:
            raise CapabilityMissing("part:duplex", self.name)
        return self.wrapped.make_duplex(**kwargs)

    def make_pipeline(self, **kwargs: Any) -> Any:
        if "pipeline" not in self.parts or not hasattr(self.wrapped, "make_pipeline"):
            raise CapabilityMissing("part:pipeline", self.name)
        return self.wrapped.make_pipeline(**kwargs)

    def __getattr__(self, attr: str) -> Any:  # anything else the user's object offers
        if attr == "wrapped":
            raise AttributeError(attr)
        return getattr(self.wrapped, attr)


def as_target(obj: Any, spec: str | None = None) -> Any:
    """``obj`` in the full target protocol: an :class:`Adapter` as it is, anything else
    with the factory shape wrapped in a :class:`FactoryTarget`.

    :raises HarnessError: ``obj`` lacks ``name``, ``version`` or ``capabilities``.
    """
    if isinstance(obj, Adapter):
        return obj
    missing = [attr for attr in ("name", "version", "capabilities") if not hasattr(obj, attr)]
    if missing:
        raise HarnessError(f"target {spec or getattr(obj, 'name', obj)!r}: factory returned "
                           f"{type(obj).__name__} without {', '.join(missing)}")
    return FactoryTarget(obj, spec or str(obj.name))
