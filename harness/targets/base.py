"""The target contract: parts, capabilities, the errors that mean full/empty/closed/ended,
and :class:`Adapter`, the base a library's adapter subclasses.

A target provides any subset of the parts in :data:`PARTS`; ``target.parts`` says which and
``target.has(part)`` asks. A ``make_*`` of a part the target lacks raises
:class:`CapabilityMissing` (``part:buffer``...), so a scenario or a fuzz machine can skip
with a reason instead of crashing. docs/targets.md is the full specification.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Protocol, runtime_checkable

from harness.contract import Semantics
from harness.errors import HarnessError

__all__ = [
    "OVERFLOW_POLICIES",
    "PARTS",
    "Adapter",
    "Capabilities",
    "CapabilityMissing",
    "Chunk",
    "EventEmitter",
    "LibraryCode",
    "Target",
    "distribution_version",
    "error_kind",
    "missing_requirements",
    "takes_parameter",
]

OVERFLOW_POLICIES = ("block", "drop_oldest", "drop_newest", "reject")
PARTS = ("queue", "buffer", "chunk", "duplex", "pipeline")
"""The independent parts a target may provide (``make_<part>`` builds one)."""
EventEmitter = Callable[[str, dict[str, Any]], None]


class CapabilityMissing(Exception):
    """The target cannot do what a scenario asked for: a capability (``put_timeout``), a
    policy (``overflow:drop_oldest``), a format (``format:pcm_24``) or a part
    (``part:buffer``)."""

    def __init__(self, capability: str, target: str) -> None:
        super().__init__(f"target {target!r} lacks capability {capability!r}")
        self.capability = capability
        self.target = target


@dataclass(frozen=True)
class Capabilities:
    """What a target's parts can do beyond the required methods (docs/targets.md)."""

    put_timeout: bool = False
    """Queue: ``put(item, timeout=...)`` exists (and raises one of ``full_errors`` on expiry)."""
    put_nowait: bool = False
    """Queue: ``put_nowait(item)`` exists."""
    get_nowait: bool = True
    """Queue: ``get_nowait()`` exists."""
    close: bool = True
    """Queue: ``close()`` (sync or async) ends the stream. False: the library has no way to
    end a stream (asyncio.Queue before Python 3.13); scenarios that need one skip."""
    level: bool = True
    """Queue: ``len(queue)`` is the number of items it holds."""
    iterate: bool = False
    """Queue: ``async for item in queue`` takes items until the end of the stream."""
    overflow_policies: frozenset[str] = frozenset({"block"})
    """Overflow policies the queue accepts, a subset of :data:`OVERFLOW_POLICIES`."""
    batch: bool = False
    """Queue: ``put_many`` / ``get_many`` exist."""
    events: bool = True
    """The target calls the ``event_emitter`` it is given (``stream.*`` events). False: it
    has no telemetry hook; telemetry checks do not expect events from it."""
    monitor: bool = False
    """Queue: a ``monitor`` with ``stats`` and ``should_throttle()`` (Stageflow's)."""
    buffer_level: bool = False
    """Buffer: ``current_ms`` / ``current_bytes`` exist (IMP-054)."""
    buffer_formats: bool = False
    """Buffer: ``fmt=`` other than ``pcm_16`` is accepted."""
    statistics: bool = False
    """``statistics()`` snapshots exist on the queue and the buffer."""
    duplex: bool = False
    """The target has the duplex part (kept for readers of older results; ``has("duplex")``
    is the question to ask)."""
    pipeline: bool = False
    """The target has the pipeline part: ``make_voice_pipeline`` builds a voice pipeline
    (harness.pipeline_targets, docs/pipelines.md); ``has("pipeline")`` asks."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["overflow_policies"] = sorted(self.overflow_policies)
        return data

    def names(self) -> list[str]:
        """The capabilities that are on (``overflow:<policy>`` for policies beyond block;
        ``duplex`` and ``pipeline`` are parts, not listed here)."""
        on = [f.name for f in fields(self)
              if f.name not in ("overflow_policies", "duplex", "pipeline")
              and getattr(self, f.name) is True]
        return on + [f"overflow:{p}" for p in OVERFLOW_POLICIES[1:]
                     if p in self.overflow_policies]

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


@dataclass(slots=True)
class Chunk:
    """The plain audio record the harness makes when a target has no chunk part: it is
    the harness's, never judged as the target's."""

    data: bytes
    sample_rate: int = 16_000
    channels: int = 1
    format: str = "pcm_16"
    timestamp_ms: float = 0.0
    sequence: int = 0


@dataclass(frozen=True)
class LibraryCode:
    """How a built-in adapter's queue is spelled in the library's own API, for reproduction
    scripts a maintainer pastes (no harness import in them).

    ``imports`` binds the names the templates use; ``make`` builds the queue (``{max_size}``
    is filled in); ``calls`` maps each harness queue method (``put``, ``put_nowait``,
    ``get``, ``get_nowait``, ``close``, ``len``, ``anext``: those the adapter has) to the
    library expression that the adapter forwards it to (``{item}`` is the argument; a
    coroutine call is written with its ``await``); ``errors`` names, for each error kind
    the adapter declares (``closed``, ``full``, ``empty``, ``end``), the library's exception
    class or tuple of classes as the imports bind them (the adapter's ``*_errors`` tuples).

    Findings about the queue say it in the same words: ``queue`` names it as the library's
    docs and maintainers do (``asyncio.Queue``, ``aiochannel.Channel``), where Stageflow's
    own class (``ChunkQueue``) would otherwise be named; ``bound_wait`` is how a caller
    bounds a wait in the library's idiom, a statement around ``{call}`` (``async with
    asyncio.timeout(t): {call}``), what advice about a put that waits without a bound
    recommends instead of a new ``timeout=`` parameter.
    """

    imports: str
    make: str
    calls: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    queue: str = ""
    bound_wait: str = ""

    def words(self) -> dict[str, str]:
        """What findings about the queue say, in the library's words: ``queue`` (its name),
        ``put``, ``put_nowait``, ``get`` (the calls, ``item`` as the argument), ``full``
        (what a put that cannot wait raises) and ``bound_wait`` (the idiom, ``{call}`` left
        in). Only what the adapter fills in is there."""
        words = {name: template.format(item="item") for name, template in self.calls.items()
                 if name in ("put", "put_nowait", "get")}
        if "full" in self.errors:
            words["full"] = self.errors["full"]
        if self.queue:
            words["queue"] = self.queue
        if self.bound_wait:
            words["bound_wait"] = self.bound_wait
        return words


@runtime_checkable
class Target(Protocol):
    """The implementation under test, as scenarios and fuzz machines see it."""

    name: str
    version: str
    parts: frozenset[str]
    capabilities: Capabilities
    semantics: Semantics
    closed_errors: tuple[type[BaseException], ...]
    full_errors: tuple[type[BaseException], ...]
    empty_errors: tuple[type[BaseException], ...]
    end_errors: tuple[type[BaseException], ...]

    def has(self, part: str) -> bool: ...

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


def distribution_version(distribution: str) -> str:
    """The installed version of ``distribution``, or ``"not installed"``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


class Adapter:
    """Base of a target: class attributes say what it is, ``make_*`` build its parts.

    A subclass sets ``name``, ``parts``, ``capabilities``, ``semantics`` and the error
    tuples, and overrides ``make_<part>`` for each part it has. The defaults: no queue,
    buffer, duplex or pipeline (``make_*`` raise :class:`CapabilityMissing` ``part:<name>``);
    chunks are the harness's :class:`Chunk`. ``version`` is read from ``distribution``.
    """

    name: str = "adapter"
    distribution: ClassVar[str | None] = None
    """The PyPI distribution whose version is reported (None: set ``version`` instead)."""
    parts: frozenset[str] = frozenset()
    capabilities: Capabilities = Capabilities()
    semantics: Semantics = Semantics()
    closed_errors: tuple[type[BaseException], ...] = ()
    """Every exception that means "closed" from any queue call: what a put on a closed
    queue raises, and ``end_errors`` too (so a consumer may stop on either). Empty when a
    closed put returns False and get returns None, or the target has no close."""
    full_errors: tuple[type[BaseException], ...] = (asyncio.QueueFull,)
    """What ``put_nowait`` on a full queue, an expired ``put(timeout=)`` or the reject
    policy raise."""
    empty_errors: tuple[type[BaseException], ...] = (asyncio.QueueEmpty,)
    """What ``get_nowait`` on an empty, open queue raises."""
    end_errors: tuple[type[BaseException], ...] | None = None
    """What ``get()`` raises on a closed, drained queue, when it raises instead of returning
    None (None here: the same as ``closed_errors``)."""
    library: LibraryCode | None = None
    """The queue in the library's own words, for reproductions (built-in adapters)."""

    def __init__(self) -> None:
        if self.end_errors is None:
            self.end_errors = tuple(self.closed_errors)
        if not hasattr(self, "version"):
            self.version = (distribution_version(self.distribution) if self.distribution
                            else "unknown")

    def has(self, part: str) -> bool:
        """Whether the target provides ``part`` (one of :data:`PARTS`)."""
        return part in self.parts

    def require(self, capability: str) -> None:
        """Raise :class:`CapabilityMissing` unless the target has ``capability`` (a
        :class:`Capabilities` field or ``part:<name>``)."""
        if missing_requirements(self, (capability,)):
            raise CapabilityMissing(capability, self.name)

    def make_queue(
        self, max_size: int = 100, *, overflow: str = "block",
        event_emitter: EventEmitter | None = None,
    ) -> Any:
        raise CapabilityMissing("part:queue", self.name)

    def make_buffer(
        self, *, target_duration_ms: float, max_duration_ms: float, sample_rate: int,
        channels: int, fmt: str = "pcm_16", event_emitter: EventEmitter | None = None,
    ) -> Any:
        raise CapabilityMissing("part:buffer", self.name)

    def make_chunk(
        self, data: bytes, *, sample_rate: int, channels: int, fmt: str = "pcm_16",
        timestamp_ms: float = 0.0, sequence: int = 0,
    ) -> Any:
        return Chunk(data, sample_rate, channels, fmt, timestamp_ms, sequence)

    def make_duplex(self, **kwargs: Any) -> Any:
        raise CapabilityMissing("part:duplex", self.name)

    def make_pipeline(self, **kwargs: Any) -> Any:
        raise CapabilityMissing("part:pipeline", self.name)

    def check_overflow(self, overflow: str) -> None:
        """Refuse a policy the target does not have (:class:`CapabilityMissing`) or one
        that does not exist (``ValueError``)."""
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow must be one of {OVERFLOW_POLICIES}, got {overflow!r}")
        if overflow not in self.capabilities.overflow_policies:
            raise CapabilityMissing(f"overflow:{overflow}", self.name)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "parts": sorted(self.parts),
                "capabilities": self.capabilities.as_dict(),
                "semantics": self.semantics.as_list()}

    def __repr__(self) -> str:
        return f"<target {self.name} {self.version} parts={','.join(sorted(self.parts))}>"


def missing_requirements(target: Any, requires: Iterable[str]) -> list[str]:
    """Which of ``requires`` the target lacks: ``part:<name>`` asks ``target.has``, a
    policy ``overflow:<policy>`` its policies, any other name its capability flag."""
    caps = target.capabilities
    missing = []
    for need in requires:
        if need.startswith("part:"):
            ok = target.has(need[5:])
        elif need.startswith("overflow:"):
            ok = need[9:] in caps.overflow_policies
        else:
            ok = bool(getattr(caps, need, False))
        if not ok:
            missing.append(need)
    return missing


def error_kind(target: Any, exc: BaseException, *, call: str) -> str | None:
    """What an exception raised by a queue call means for ``target``, by its declared error
    tuples (never by class name): for ``call="put"`` (put, put_nowait) ``full`` or
    ``closed``; for ``call="get"`` (get, get_nowait, __anext__) ``empty``, ``end`` or
    ``closed``; None when it is none of them. (One class may mean full for a put and empty
    for a get: anyio's ``WouldBlock``.)

    :raises ValueError: ``call`` is neither ``put`` nor ``get``.
    """
    def declared(name: str) -> tuple[type[BaseException], ...]:
        return tuple(getattr(target, name, None) or ())   # a user's target may declare none

    if call == "put":
        kinds = (("full", declared("full_errors")), ("closed", declared("closed_errors")))
    elif call == "get":
        kinds = (("empty", declared("empty_errors")), ("end", declared("end_errors")),
                 ("closed", declared("closed_errors")))
    else:
        raise ValueError(f"call must be 'put' or 'get', got {call!r}")
    for kind, errors in kinds:
        if errors and isinstance(exc, tuple(errors)):
            return kind
    return None


def takes_parameter(func: Any, name: str) -> bool:
    """Whether ``func`` accepts a parameter ``name`` (False if it has no signature)."""
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
