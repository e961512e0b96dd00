"""The defect vocabulary: what a finding is, independently of the check that saw it.

A defect is one clause of the streaming contract broken by one component in one
operation: a :class:`DefectKey` ``(component, operation, property)``, e.g.
``("ChunkQueue", "close (blocked consumer)", "no_hang")``. The same key is named by every
part of the harness that can see the defect — the general invariants, the scenarios' own
checks and the fuzz state machines — so one defect found by several checks is one finding
(``harness.findings``), with the checks kept as its provenance.

- :data:`PROPERTIES`: the contract properties, each with its one-line "what is wrong", the
  behaviour expected and a severity.
- :data:`OPERATIONS`: the operation strings (the call and the situation it was made in).
  Other operation strings are accepted (a fuzz rule name for an unexpected error, a user's
  own scenario); these are the ones the built-in checks use.
- :func:`title`, :func:`expected`, :func:`severity`, :func:`impact`: the words of a finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.contract import CLAUSES, Level, Semantics

__all__ = [
    "ANY_VALUE",
    "COMPONENTS",
    "OPERATIONS",
    "PROPERTIES",
    "ROOT_CAUSES",
    "DefectKey",
    "Judgement",
    "Property",
    "RootCause",
    "clause_of",
    "expected",
    "headline",
    "impact",
    "judge",
    "level_of",
    "parse_keys",
    "root_cause",
    "severity",
    "title",
    "twin_of",
]

COMPONENTS = ("ChunkQueue", "StreamingBuffer", "AudioChunk", "BackpressureMonitor",
              "StreamingAudioDuplex", "calculate_audio_duration_ms", "Pipeline")
"""The components the built-in checks name (a key may name another)."""


@dataclass(frozen=True)
class Property:
    """One property of the contract."""

    wrong: str
    """What is wrong when it is broken: the tail of a finding's title."""
    expected: str
    """The behaviour the contract promises."""
    severity: str
    """critical / high / medium / low."""


PROPERTIES: dict[str, Property] = {
    "no_hang": Property(
        "a blocked call never ends",
        "every wait ends: a blocked put when room appears, the queue closes or its timeout "
        "expires; a blocked get when an item arrives or the queue closes",
        "high"),
    "put_timeout": Property(
        "put(timeout=) does not end by its timeout",
        "put(item, timeout=t) returns or raises QueueFull by t", "high"),
    "no_loss": Property(
        "an accepted item is never delivered",
        "every item put is delivered (by get() and by async iteration), or refused or "
        "dropped with an event", "high"),
    "fifo": Property(
        "items are delivered out of order, duplicated or invented",
        "items are delivered once each, in the order they were put", "high"),
    "bounds": Property(
        "holds more than its configured bound",
        "the queue never holds more than max_size items; the buffer never holds more than "
        "max_duration_ms of audio", "medium"),
    "whole_frames": Property(
        "returns or trims partial audio frames",
        "every read, drop and overflow trim is a whole number of frames "
        "(channels x bytes per sample)", "medium"),
    "no_silent_drop": Property(
        "drops data without reporting it",
        "every dropped item is reported by one stream.chunk_dropped event; every trimmed "
        "byte is reported in stream.buffer_overflow (bytes_dropped)", "medium"),
    "bad_input_refused": Property(
        "accepts invalid input or changes state when refusing it",
        "a chunk of another sample rate, channel count or format, a chunk of partial frames, "
        "and a negative or NaN duration are refused with ValueError/TypeError, and the "
        "object is left unchanged", "medium"),
    "config_refused": Property(
        "accepts an invalid configuration",
        "an invalid configuration is refused at construction with ValueError/TypeError "
        "naming the argument; a valid one is accepted", "medium"),
    "duration": Property(
        "reports a wrong duration",
        "duration = bytes / (bytes per sample x channels) / sample rate x 1000 "
        "(PCM_16: 2 bytes, PCM_24: 3, PCM_32 and FLOAT_32: 4)", "medium"),
    "level": Property(
        "reports a wrong level",
        "len(queue) and the buffer's level are what the object holds", "low"),
    "backpressure_visible": Property(
        "a put waits without stream.producer_blocked",
        "stream.producer_blocked is emitted when a put starts to wait, not only after",
        "low"),
    "underrun_visible": Property(
        "a short read is not reported as an underrun",
        "a read that returns less than asked emits stream.buffer_underrun (the buffer is in "
        "underrun until stream.buffer_recovered)", "low"),
    "end_of_stream": Property(
        "a closed, drained queue does not end its consumer",
        "on a closed, drained queue get() returns None and async iteration ends", "high"),
    "integrity": Property(
        "returns audio other than what was added",
        "reads return the oldest audio held, byte for byte, in order; audio that fits "
        "within max_duration_ms is kept", "high"),
    "read_length": Property(
        "a read returns the wrong amount of audio",
        "read(d) returns d rounded to a whole frame, or everything held if less", "medium"),
    "unexpected_error": Property(
        "raises an undocumented error",
        "every call either does its job or raises a documented error", "medium"),
    "outcome": Property(
        "a call ends in a way the contract does not allow",
        "every call ends as the contract allows: queued, dropped by the overflow policy, or "
        "refused with QueueFull/QueueClosed", "medium"),
    "throttle": Property(
        "throttle state does not follow the high/low-water marks",
        "throttling starts once the fill reaches the high-water mark and ends once it falls "
        "to the low-water mark, with alternating stream.throttle_started/ended events",
        "medium"),
    "minimal_trim": Property(
        "overflow discards more than the bound requires",
        "an overflow drops only what the bound requires: one item from a full drop_oldest "
        "queue; from a buffer, the oldest audio down to max_duration_ms in whole frames",
        "high"),
    "readiness": Property(
        "is_ready()/is_full() disagree with the audio held",
        "is_ready() is true exactly when target_duration_ms is held, is_full() exactly when "
        "the capacity is held (both in whole frames)", "medium"),
    "stats": Property(
        "statistics disagree with what happened",
        "stats and statistics() count what was accepted, dropped, read and held, and the "
        "peak level", "low"),
    "event_payload": Property(
        "an event lacks what it promises",
        "every event carries the payload keys documented for it (reason, sizes, durations, "
        "the dropped chunk's sequence)", "low"),
    "emitter_failure_visible": Property(
        "a failing event emitter is swallowed without a trace",
        "an event emitter that raises never breaks the data path, and its failure is counted "
        "and logged, not swallowed", "low"),
    "event_truth": Property(
        "an event reports something that did not happen",
        "each event the target emits reports what happened, once: one stream.queue_closed "
        "per queue, stream.buffer_recovered only when audio is there again", "low"),
    "overhead": Property(
        "the pipeline adds latency between its stages",
        "handing an item from one stage to the next costs microseconds, not milliseconds: "
        "what a user waits for is the services' own delays",
        "medium"),
    "silenced": Property(
        "the speaker keeps playing after an interruption",
        "an interruption (barge-in) silences the speaker within one playout chunk of the "
        "moment it is decided: the bot audio on its way to the speaker is discarded",
        "medium"),
}
"""Property name -> its words. The fuzz machines and the invariants use these names."""

_SITUATIONS = ("queue with room", "full queue", "closed queue")
_PUTS = ("put", "put_nowait", "put(timeout)")
_STEPS = (*_PUTS, "get", "get_nowait", "__anext__", "close", "cancel")

OPERATIONS: dict[str, str] = {
    **{f"{call} ({where})": f"ChunkQueue.{call} on a {where}"
       for call in _PUTS for where in _SITUATIONS},
    "put (blocked)": "a put that waited, when it ended",
    "get": "ChunkQueue.get()", "get_nowait": "ChunkQueue.get_nowait()",
    "__anext__": "async iteration over a ChunkQueue", "close": "ChunkQueue.close()",
    **{f"cancel (blocked {kind})": f"cancelling a blocked {kind}"
       for kind in ("put", "get", "anext")},
    **{f"{step} (blocked {role})": f"{step} while a {role} was blocked: what should have "
                                   f"woken it"
       for step in _STEPS for role in ("producer", "consumer")},
    "add_chunk": "StreamingBuffer.add_chunk() of a chunk that fits",
    "add_chunk (overflow)": "StreamingBuffer.add_chunk() beyond max_duration_ms",
    "add_chunk (overflow trim)": "the audio add_chunk() trims to stay within its bound",
    "add_chunk (partial frame)": "add_chunk() of a chunk that is not whole frames",
    "add_chunk (mismatched stream)": "add_chunk() of a chunk of another rate, channel count "
                                     "or format",
    "read": "StreamingBuffer.read()", "read (short)": "a read of more than the buffer holds",
    "read (negative or NaN duration)": "StreamingBuffer.read() with a bad duration",
    "clear": "StreamingBuffer.clear()",
    "ChunkQueue()": "constructing a ChunkQueue",
    "StreamingBuffer()": "constructing a StreamingBuffer",
    "AudioChunk()": "constructing an AudioChunk",
    **{f"duration_ms ({fmt})": f"AudioChunk.duration_ms of {fmt} audio"
       for fmt in ("pcm_16", "pcm_24", "pcm_32", "float_32")},
    "duration_ms (compressed)": "AudioChunk.duration_ms of compressed audio",
    "calculate_audio_duration_ms": "calculate_audio_duration_ms()",
    "put (full drop_oldest queue)": "a put on a full drop_oldest queue (what it evicts)",
    "queue filled (throttling not started)": "the fill reached the high-water mark",
    "queue drained (throttling not ended)": "the fill fell to the low-water mark",
    "throttle events (not alternating)": "stream.throttle_started/ended out of turn",
    "stream.chunk_dropped": "the payload of stream.chunk_dropped",
    "event emitter raised": "what a component does when its event emitter raises",
    "read (full)": "a read of no more than the buffer holds",
    "is_ready": "StreamingBuffer.is_ready()", "is_full": "StreamingBuffer.is_full()",
    "close (again)": "a second ChunkQueue.close()",
    "read (empty, nothing asked)": "a read of less than one frame from an empty buffer",
    "clear (accounting)": "what StreamingBuffer.stats counts after clear()",
    "close (under load)": "closing a voice pipeline while a reply is in flight",
    "interrupt (bot speaking)": "a barge-in while the bot is speaking",
    "edges": "the queues between a pipeline's stages",
    "hops": "the hand-offs between a voice pipeline's stages in one turn",
}
"""Operation string -> what it means. Built from the fuzz machines' and the invariants'
use: a call, and in brackets the situation that matters."""

# Expected behaviour where a component or an operation says more than the property alone.
_EXPECTED: dict[tuple[str, ...], str] = {
    ("ChunkQueue", "bounds"): "the queue never holds more than max_size items",
    ("StreamingBuffer", "bounds"): "the buffer never holds more than max_duration_ms of "
                                   "audio; an oversized chunk keeps only its newest part",
    ("ChunkQueue", "no_silent_drop"): "every dropped item is reported by exactly one "
                                      "stream.chunk_dropped event",
    ("StreamingBuffer", "no_silent_drop"): "every trimmed byte is reported in "
                                           "stream.buffer_overflow events (bytes_dropped)",
    ("ChunkQueue", "stats"): "monitor.stats counts every accepted item (total_items), every "
                             "item the overflow policy dropped (dropped_items) and the peak "
                             "level (max_queue_size)",
    ("StreamingBuffer", "stats"): "stats['bytes_buffered'] and statistics().size_bytes are the "
                                  "bytes held; stats counts the bytes received, read and "
                                  "trimmed by overflow",
    ("ChunkQueue", "put (full queue)", "no_hang"):
        "a put on a full queue that no consumer drains ends: it takes a timeout "
        "(put(item, timeout=t) raises QueueFull), or close() wakes it with QueueClosed; it "
        "never waits forever without a trace",
    ("ChunkQueue", "close (blocked producer)", "no_hang"):
        "close() wakes every blocked producer: each blocked put raises QueueClosed",
    ("ChunkQueue", "close (blocked consumer)", "no_hang"):
        "close() wakes every blocked consumer, however many: each get() ends (None, or the "
        "end of async iteration) once the remaining items are drained",
    ("ChunkQueue", "close (blocked producer)", "no_loss"):
        "close() wakes every blocked producer with QueueClosed; no put that was waiting when "
        "the queue closed may later accept an item that nobody will read",
    ("ChunkQueue", "put (closed queue)", "no_loss"):
        "a put on a closed queue is refused (QueueClosed, or False with "
        "stream.chunk_dropped); it never accepts an item that nobody will read",
}

_IMPACT = {
    "critical": "the stream corrupts or loses data, or stops, for every user",
    "high": "a stream can stall, lose or corrupt data with no error",
    "medium": "the stream misbehaves or hides a problem under these inputs",
    "low": "operators see a wrong picture of the stream (telemetry or levels)",
}


@dataclass(frozen=True, order=True)
class DefectKey:
    """The identity of a defect: which clause of the contract, broken where.

    :raises ValueError: an empty component or operation, or a property not in
        :data:`PROPERTIES`.
    """

    component: str
    operation: str
    property: str

    def __post_init__(self) -> None:
        for name in ("component", "operation", "property"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"DefectKey.{name} must be a non-empty string, got {value!r}")
        if self.property not in PROPERTIES:
            raise ValueError(f"DefectKey.property {self.property!r} is not one of "
                             f"{', '.join(PROPERTIES)}")

    def as_dict(self) -> dict[str, str]:
        return {"component": self.component, "operation": self.operation,
                "property": self.property}

    @classmethod
    def of(cls, value: Any) -> DefectKey:
        """A key from a key, a ``{component, operation, property}`` mapping or a
        ``(component, operation, property)`` sequence (what scenarios pass).

        :raises ValueError: any other shape, or a bad field (see the class).
        """
        if isinstance(value, DefectKey):
            return value
        if isinstance(value, Mapping):
            try:
                return cls(value["component"], value["operation"], value["property"])
            except KeyError as exc:
                raise ValueError(f"defect key {dict(value)!r} has no {exc.args[0]!r}") from None
        if isinstance(value, (tuple, list)) and len(value) == 3:
            return cls(*value)
        raise ValueError(f"a defect key is (component, operation, property), got {value!r}")


def parse_keys(values: Iterable[Any] | None) -> tuple[DefectKey, ...]:
    """Distinct keys, in order, from what :meth:`DefectKey.of` accepts.

    :raises ValueError: one of them is not a key.
    """
    return tuple(dict.fromkeys(DefectKey.of(v) for v in values or ()))


def title(key: DefectKey) -> str:
    """``"ChunkQueue.close (blocked consumer): a blocked call never ends"``.

    An operation that starts with its component's name (a constructor, a function) is not
    prefixed again: ``"ChunkQueue(): accepts an invalid configuration"``.
    """
    where = key.operation if key.operation.startswith(key.component) else \
        f"{key.component}.{key.operation}"
    return f"{where}: {PROPERTIES[key.property].wrong}"


def expected(key: DefectKey) -> str:
    """The behaviour the contract promises for this key (most specific wording known)."""
    for lookup in ((key.component, key.operation, key.property),
                   (key.component, key.property)):
        if lookup in _EXPECTED:
            return _EXPECTED[lookup]
    return PROPERTIES[key.property].expected


def severity(key: DefectKey) -> str:
    """critical / high / medium / low, from the property."""
    return PROPERTIES[key.property].severity


def impact(level: str) -> str:
    """What a defect of severity ``level`` does to a user's stream."""
    return _IMPACT.get(level, _IMPACT["medium"])


# --- judging: the level of the contract each check judges at ---------------------------

ANY_VALUE = object()
"""A check that holds whatever value the target declares for its clause (a put on a closed
queue must end as declared, whichever way that is)."""

_PARTS = {"ChunkQueue": "queue", "StreamingBuffer": "buffer", "AudioChunk": "chunk",
          "StreamConfig": "chunk", "BackpressureMonitor": "monitor"}


def _part(component: str) -> str:
    return _PARTS.get(component, "functions")


def clause_of(key: DefectKey, *, detail: str = "") -> tuple[Level, str | None, Any]:
    """The level a check of ``key`` judges at, the clause of :data:`harness.contract.CLAUSES`
    it depends on (None for a universal one) and the clause value the check assumes
    (:data:`ANY_VALUE`: any declared value).

    ``detail`` is what the check saw: a constructor that refused a *valid* configuration
    (the check allowed only ``made``) breaks the universal "valid input never crashes".
    """
    component, operation, prop = key.component, key.operation, key.property
    declared, recommended, universal = Level.DECLARED, Level.RECOMMENDED, Level.UNIVERSAL
    if component == "ChunkQueue":
        if prop == "no_hang" and operation.startswith("close (blocked consumer)"):
            return declared, "queue.close_wakes_getters", True
        if prop == "no_hang" and operation.startswith("close (blocked producer)"):
            # a producer still waiting after close() is the waking clause, not what a put
            # on an already closed queue does
            return declared, "queue.close_wakes_putters", True
        if "(closed queue)" in operation and prop in ("no_silent_drop", "outcome"):
            # refused by the declared means (an error, or False) is reported
            return declared, "queue.closed_put", "raise"
        if prop == "no_silent_drop":
            # a drop the put reported (False) without a stream.chunk_dropped event: only a
            # target that promises the event owes it
            return declared, "queue.drop_events", True
        if prop == "no_hang" and operation == "put (full queue)":
            return declared, "queue.full_put", "block_with_timeout"
        if prop == "end_of_stream":
            return declared, "queue.end_of_stream", "return_none"
        if prop == "backpressure_visible":
            return recommended, "queue.blocked_events", True
        if prop == "event_payload":
            return recommended, "queue.event_payloads", "ours"
        if prop == "throttle":
            return declared, "monitor.throttle_marks", True
    if component == "StreamingBuffer":
        if prop == "minimal_trim":
            return declared, "buffer.overflow_trim", "minimal"
        if prop == "readiness":
            return declared, "buffer.readiness", "whole_frames"
        if prop == "underrun_visible":
            return declared, "buffer.underrun_events", True
        if prop == "no_silent_drop":
            return declared, "buffer.overflow_events", True
        if prop == "event_payload":
            return recommended, "buffer.event_payloads", "ours"
        if prop == "bad_input_refused" and operation.startswith("add_chunk"):
            return recommended, "buffer.validates_chunks", True
    if component == "Pipeline":
        if prop == "no_hang" and operation.startswith("close"):
            return declared, "pipeline.close_deadline", True
        if prop == "silenced":
            return declared, "pipeline.barge_in", "discard_all"
        if prop == "overhead":
            return recommended, "pipeline.hop_overhead", True
    if prop == "config_refused":
        if "'made'" in detail and "allowed ['made']" in detail:
            return universal, None, None  # a valid configuration refused
        return recommended, f"{_part(component)}.validates_config", True
    if prop == "bad_input_refused":
        return recommended, f"{_part(component)}.validates_input", True
    if prop == "emitter_failure_visible":
        return recommended, "events.emitter_failures", "visible"
    return universal, None, None


def level_of(key: DefectKey, semantics: Semantics | None = None, *,
             detail: str = "") -> Level:
    """The contract level a broken check of ``key`` is judged at for a target that declares
    ``semantics``: the level of :func:`judge` (one map, :func:`clause_of`, for the invariants
    and the findings), RECOMMENDED when the target declares the clause otherwise (it is not
    in breach of its contract)."""
    judgement = judge(key, semantics, detail=detail)
    return Level.RECOMMENDED if judgement.verdict == "withdrawn" else judgement.level


@dataclass(frozen=True)
class Judgement:
    """What a broken check means for one target.

    ``verdict`` is ``bug`` (a universal clause, or a clause the target declares as the check
    assumes), ``improvement`` (our recommendation, a clause the target is silent about) or
    ``withdrawn`` (the target declares the clause otherwise: its behaviour is as declared).
    """

    verdict: str
    level: Level
    clause: str | None
    reason: str
    declaration: dict[str, Any] | None = None

    @property
    def kind(self) -> str | None:
        """The ledger it goes to, or None when withdrawn."""
        return None if self.verdict == "withdrawn" else self.verdict

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"verdict": self.verdict, "level": str(self.level),
                                "reason": self.reason}
        if self.clause:
            data["clause"] = self.clause
        if self.declaration:
            data["declaration"] = self.declaration
        return data


def judge(key: DefectKey, semantics: Semantics | None = None, *,
          detail: str = "") -> Judgement:
    """Judge a broken check of ``key`` against a target's declared ``semantics``."""
    semantics = semantics if semantics is not None else Semantics()
    _level, clause, assumes = clause_of(key, detail=detail)
    if clause is None:
        return Judgement("bug", Level.UNIVERSAL, None,
                         "a universal clause: any queue, channel or audio buffer must keep it")
    meaning = CLAUSES[clause].meaning if clause in CLAUSES else clause
    decl = semantics.get(clause)
    if decl is None:
        return Judgement(
            "improvement", Level.RECOMMENDED, clause,
            f"the target does not declare {clause} ({meaning}); our contract recommends it")
    if assumes is ANY_VALUE or decl.value == assumes:
        return Judgement("bug", Level.DECLARED, clause,
                         f"the target declares {clause} = {decl.value!r} ({decl.where})",
                         decl.as_dict())
    return Judgement(
        "withdrawn", Level.DECLARED, clause,
        f"the target declares {clause} = {decl.value!r} ({decl.where}); the check assumed "
        f"{assumes!r}: the behaviour is the declared one", decl.as_dict())


# --- root causes: symptoms of one mistake are one entry -----------------------------------


@dataclass(frozen=True)
class RootCause:
    """One mistake that shows in several operations: its keys are one entry."""

    name: str
    component: str
    property: str
    operations: tuple[str, ...]
    """Operation prefixes it covers (``""``: every operation of the component/property)."""
    title: str
    """What goes wrong for a user, whatever the symptom."""

    def covers(self, key: DefectKey) -> bool:
        return key.component == self.component and key.property == self.property and \
            any(key.operation.startswith(op) for op in self.operations)

    @property
    def key(self) -> DefectKey:
        """The key the entry is filed under (its fingerprint survives re-runs)."""
        component = "all components" if self.component == "*" else self.component
        return DefectKey(component, f"root cause: {self.name}", self.property)


ROOT_CAUSES: tuple[RootCause, ...] = (
    RootCause("ms-to-bytes rounding", "StreamingBuffer", "whole_frames",
              ("read", "add_chunk (overflow trim)"),
              "milliseconds are turned into bytes without rounding to whole frames"),
    RootCause("close wakes one waiter", "ChunkQueue", "no_hang",
              ("close (blocked consumer)", "close (blocked producer)"),
              "close() does not wake every task waiting on the queue"),
    RootCause("bytes per sample", "AudioChunk", "duration", ("duration_ms",),
              "duration_ms assumes 4 bytes per sample for every format but PCM_16"),
    RootCause("emitter failures", "*", "emitter_failure_visible", ("",),
              "a failing event emitter is swallowed without a trace"),
    RootCause("argument validation", "*", "config_refused", ("",),
              "constructors accept invalid arguments"),
    RootCause("input validation", "*", "bad_input_refused", ("",),
              "methods accept invalid arguments"),
    RootCause("event payloads", "*", "event_payload", ("",),
              "events lack the keys our contract recommends"),
)
"""The mistakes known to show in several places. ``"*"`` as component: every component
(an improvement the target needs once, wherever it applies)."""


_ANEXT_RE = re.compile(r"^__anext__\b|(?<=\(blocked )anext(?=\))")
_TWIN_RE = re.compile(r"(?P<call>\w+?)(?:_nowait|\(timeout\)) \((?P<situation>[^()]+)\)")


def twin_of(key: DefectKey) -> DefectKey | None:
    """The key of the blocking call whose twin ``key`` names, or None.

    A blocking call and its ``_nowait`` and ``(timeout)`` twins are one rule written once
    (CPython's queues: the blocking call is "try the _nowait one, park, retry"), so the
    same clause broken by several of them in the same situation is one root cause:
    ``put_nowait (closed queue)`` and ``put(timeout) (closed queue)`` are filed under
    ``put (closed queue)``, with each listed as a symptom; async iteration's ``__anext__``
    is a ``get`` (``cancel (blocked anext)`` is filed under ``cancel (blocked get)``). The
    judge folds a twin only when both keys judge the same clause.
    """
    operation = key.operation
    match = _TWIN_RE.fullmatch(operation)
    if match is not None:
        operation = f"{match['call']} ({match['situation']})"
    operation = _ANEXT_RE.sub("get", operation)  # async iteration's step is a get
    if operation == key.operation:
        return None
    return DefectKey(key.component, operation, key.property)


def root_cause(key: DefectKey) -> RootCause | None:
    """The root cause ``key`` is a symptom of, when it is one of :data:`ROOT_CAUSES`."""
    for cause in ROOT_CAUSES:
        if cause.component == "*":
            if key.property == cause.property:
                return cause
        elif cause.covers(key):
            return cause
    return None


# --- headlines: what goes wrong for a user, with the numbers observed ---------------------

_OBSERVED_RE = re.compile(r"observed (?P<got>.+?); allowed \[(?P<allowed>.*)\]$")


def _reading(got: str, operation: str) -> str:
    """A fuzz observation (``level:18``, ``value:0.09375``) in a reader's words, or ''."""
    kind, _, value = got.partition(":")
    if kind == "level" and value:
        return f"{value} bytes held"
    if kind == "value" and value:
        where = operation.partition("(")[2].rstrip(")") or "chunk"
        return f"{value} ms reported for a {where.upper()} chunk"
    return ""


def headline(key: DefectKey, detail: str = "",
             calls: Mapping[str, str] | None = None) -> str:
    """The title of a finding: what goes wrong for a user, with what was observed.

    ``detail`` is what the check saw (a fuzz check's ``observed X; allowed [...]``, or an
    invariant's sentence). ``calls`` spells ``put`` and ``get`` in a library's own API
    (``{"put": "await send.send(item)"}``) where the title names a call. Falls back to
    :func:`title` with the observation appended.
    """
    match = _OBSERVED_RE.search(detail.strip())
    got = match["got"] if match else ""
    allowed = [a.strip(" '") for a in match["allowed"].split(",")] if match else []
    want = " or ".join(allowed)
    c, op, prop = key.component, key.operation, key.property
    cause = root_cause(key)
    if op.startswith("cancel (blocked ") and prop in ("outcome", "no_loss"):
        side = "put" if op == "cancel (blocked put)" else "get"
        call = str((calls or {}).get(side) or f"q.{side}({'item' if side == 'put' else ''})")
        call = call.removeprefix("await ")
        if side == "put" and prop == "outcome":
            return (f"{call} cancelled as room is made for it raises CancelledError, yet its "
                    "item is queued: a producer that retries sends it twice")
        if side == "get" and prop == "no_loss":
            return (f"{call} cancelled as an item is handed to it loses the item: neither it "
                    "nor the next call returns it")
    if prop == "level" and op == "close" and got.startswith("len:"):
        return (f"len() reports {got[4:]} after close() of a queue that holds "
                f"{want.replace('len:', '')}: the end-of-stream marker is counted as an item")
    if cause is not None and cause.name == "ms-to-bytes rounding":
        if got.startswith("bytes:") and allowed:
            sizes = " or ".join(a.split(":")[1] for a in allowed)
            return (f"read() returns {got.split(':')[1]} bytes where whole frames give "
                    f"{sizes}: durations are turned into bytes without rounding to frames, "
                    f"in read() and in the overflow trim")
        return ("the overflow trim and read() cut audio mid-frame: durations are turned into "
                "bytes without rounding to whole frames")
    if cause is not None and cause.name == "close wakes one waiter":
        still = re.search(r"(\d+) of (\d+) (consumers|producers) still", detail)
        if still:
            stuck, waiting, role = int(still[1]), int(still[2]), still[3]
            return (f"close() wakes {waiting - stuck} of {waiting} waiting {role}; the other "
                    f"{stuck} hang")
        return ("close() does not wake every task waiting on the queue: a waiting get() or "
                "put() stays blocked forever")
    if cause is not None and cause.name == "bytes per sample":
        seen = _reading(got, op)
        return ("AudioChunk.duration_ms assumes 4 bytes per sample for every format but "
                "PCM_16: PCM_24 and compressed chunks get wrong durations"
                + (f" ({seen})" if seen else ""))
    if prop == "no_loss" and op.startswith("close (blocked producer)"):
        return ("a put() waiting when close() is called completes afterwards and returns True, "
                "but its item is never delivered: the consumer already saw the end of stream")
    if prop == "throttle" and "not ended" in op:
        return ("should_throttle() stays True after the queue drains below the low-water mark, "
                "and no stream.throttle_ended is emitted")
    if prop == "bounds" and c == "StreamingBuffer":
        seen = _reading(got, op) or detail.strip()[:120]
        return "add_chunk() lets the buffer hold more than max_duration_ms" + (
            f" ({seen})" if seen else "")
    if prop == "integrity" and c == "StreamingBuffer" and got.startswith("level:"):
        return (f"add_chunk() discards audio that fits within max_duration_ms (holds "
                f"{got[6:]} bytes where {want.replace('level:', '')} fit)")
    if prop == "event_truth" and op == "close (again)":
        return (f"close() called again emits another stream.queue_closed ({got.split(':')[-1]} "
                "for one queue) and adds another end-of-stream marker")
    if prop == "event_truth" and op.startswith("read (empty"):
        return ("a read that returns nothing from an empty buffer emits "
                "stream.buffer_recovered: the underrun is reported over while it goes on")
    if prop == "stats" and op == "clear (accounting)":
        return (f"clear() discards bytes that stats never counts ({got}): total_received no "
                "longer equals read + dropped + buffered")
    base = title(key)
    observed = f"observed {got}, expected {want}" if match else detail.strip()
    return f"{base} ({observed[:160]})" if observed else base
