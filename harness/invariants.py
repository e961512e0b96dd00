"""General invariants, checked on every scenario from what its trace recorded.

Each check is a plain function ``check_x(obs, expect) -> Verdict | None`` over
:class:`Observations` (the trace as numpy arrays) and :class:`Expectations` (what the
scenario told its context: bounds, frame sizes, memory limit, and what the runner saw at
the deadline). ``None`` means "does not apply" (e.g. no bound was declared) and the check
is left out of the results. :func:`check_all` runs them all in a fixed order. Any other
part of the product (the adversarial suite, fuzzers) can build an ``Observations`` and
call the same checks.

A failed check names the contract clauses it saw broken, as :class:`harness.defects.DefectKey`
in ``Verdict.defects`` (so a defect seen by several checks, and by the fuzzer, is one
finding), from what it observed: where a hung task waits and whether the scenario had
closed that queue (``Expectations.closed``), which series held partial frames, whether
puts that were lost or dropped silently were waiting when a queue closed. What it cannot
name is left in ``Verdict.unattributed`` and filed under the check itself.

Accounting vocabulary (one definition, used by metrics and invariants):

- *sent*: put attempts recorded by producers (one per chunk).
- *refused*: attempts whose put raised to the producer (``timeout``, ``rejected``,
  ``closed``, ``error``) or that the harness cancelled at the deadline (``cancelled``):
  the producer was told, nothing is silent.
- *delivered*: distinct sent chunks a consumer received.
- *stranded*: distinct chunks still queued when the scenario ended (the runner drains
  watched queues after the scenario). They are accounted for only when the scenario was
  cut at its deadline (a consumer hung); after a normal end of stream a chunk left in the
  queue never reaches anyone and counts as lost.
- *dropped*: chunks the target dropped and said so, by whatever means it has (the
  universal clause): a put that returned ``False``, a ``stream.chunk_dropped`` event, or
  its own drop counter (``statistics().dropped``, ``monitor.stats.dropped_items``, read by
  the runner at the end: ``Expectations.queue_drops``). When the events carry ``sequence``
  the dropped chunks are identified exactly; otherwise (Stageflow 0.5.1) they are counted.
  Whether drops are also *announced* by events is the ``telemetry`` check's business, at
  the level the target declares it.
- *lost* = sent - delivered - stranded - refused - dropped (never negative): chunks that
  vanished without the producer or the telemetry being told.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.contract import Level, Semantics
from harness.defects import DefectKey, level_of
from harness.metrics import nearest_rank
from harness.pauses import overlap_ns
from mocks.trace import Trace

__all__ = [
    "CHECKS",
    "CHECK_LEVELS",
    "INVARIANT_HYPOTHESES",
    "REFUSED_OUTCOMES",
    "Accounting",
    "Expectations",
    "HungTask",
    "Observations",
    "Verdict",
    "account",
    "account_for",
    "check_all",
    "check_bounds_held",
    "check_fifo_per_producer",
    "check_latency_bounded",
    "check_memory_bounded",
    "check_no_hang",
    "check_none_duplicated",
    "check_none_lost",
    "check_telemetry",
    "check_whole_frames",
    "chunk_id",
    "clause_level",
    "delivered_times_ns",
    "latencies_ns",
    "observe",
    "schedule_lag_ns",
]

INVARIANT_HYPOTHESES: dict[str, tuple[str, ...]] = {
    "none_lost": ("H5", "H1"),
    "none_duplicated": ("H5",),
    "fifo_per_producer": ("H5",),
    "bounds_held": ("H1", "H2"),
    "whole_frames": ("H2",),
    "no_hang": ("H1", "H6", "H5"),
    "memory_bounded": ("H6",),
    "latency_bounded": ("H7",),
    "telemetry": ("H4",),
}
"""Which TRANSFORM-007 hypotheses each general invariant bears on. A failed check refutes
those of them that its scenario tests (all of the scenario's when none of them is)."""

REFUSED_OUTCOMES = frozenset({"timeout", "rejected", "closed", "error", "cancelled"})
"""Put outcomes the producer was told about by an exception (never silent); ``cancelled``
is a put the harness itself cut at the deadline (its fate is not the target's doing)."""

DROP_EVENT = "stream.chunk_dropped"
BLOCKED_EVENT = "stream.producer_blocked"
TIMEOUT_EVENT = "stream.producer_timeout"
_SEQ_BITS = 32
_SHOWN = 5  # ids named in a one-line detail


def chunk_id(producer: int, seq: int) -> str:
    """How details name a chunk: ``p<producer>#<seq>``."""
    return f"p{producer}#{seq}"


def _key(producer: np.ndarray, seq: np.ndarray) -> np.ndarray:
    return (producer.astype(np.int64) << _SEQ_BITS) | seq.astype(np.int64)


def _name_keys(keys: Iterable[int], total: int | None = None) -> str:
    keys = list(keys)
    names = [chunk_id(k >> _SEQ_BITS, k & ((1 << _SEQ_BITS) - 1)) for k in keys[:_SHOWN]]
    more = (total if total is not None else len(keys)) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _n(count: int, singular: str, plural: str | None = None) -> str:
    """``"1 chunk"``, ``"2 chunks"``: the count and the noun that agrees with it."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _of(part: int, whole: int, singular: str, plural: str | None = None) -> str:
    """``"1 of 1 put"``, ``"1 of 3 puts"``: the noun agrees with the whole."""
    return f"{part} of {_n(whole, singular, plural)}"


@dataclass(frozen=True)
class Verdict:
    """One invariant's outcome. ``detail`` is one line naming counts and chunk ids.

    A failed verdict names the defects it saw in ``defects`` (one check can see several:
    chunks of another rate and chunks of partial frames are two). Whatever it saw that no
    key names is in ``unattributed`` (and, for a hang, the await chains of those tasks in
    ``unattributed_stack``): findings file that part under the check itself. A failed
    verdict without ``defects`` is filed wholly under the check.
    """

    name: str
    passed: bool
    detail: str = ""
    stack: str | None = None
    reproduction: str | None = None
    hypotheses: tuple[str, ...] = ()
    """The hypotheses this check bears on (see :data:`INVARIANT_HYPOTHESES`)."""
    defects: tuple[DefectKey, ...] = ()
    unattributed: str | None = None
    unattributed_stack: str | None = None
    level: str = Level.UNIVERSAL
    """The contract level (:class:`harness.contract.Level`) of the check as a whole: the
    level of what it files under itself (no key, or ``unattributed``)."""
    levels: tuple[tuple[DefectKey, str], ...] = ()
    """The level of each key of ``defects`` that is not judged at ``level``."""
    excused: str | None = None
    """What the check did not hold against the target, and why (a GC pause, the load
    generator's own lag): one line, or None."""
    clause: str | None = None
    """The clause of :data:`harness.contract.CLAUSES` the check judges as a whole (a
    scenario's ``expect(..., clause=)``; it assumes the value True), or None."""
    as_declared: Mapping[str, Any] | None = None
    """Set on a failed check when everything it saw broken is what the target declares
    (:func:`harness.declared.excuse`): the reason and the declarations. Such a check fails
    no scenario (:func:`harness.declared.fails_target`)."""

    def level_of(self, key: DefectKey) -> str:
        """The contract level ``key`` was judged at."""
        return dict(self.levels).get(key, self.level)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "passed": self.passed, "detail": self.detail,
                               "hypotheses": list(self.hypotheses), "level": str(self.level)}
        if self.stack:
            out["stack"] = self.stack
        if self.reproduction:
            out["reproduction"] = self.reproduction
        if self.excused:
            out["excused"] = self.excused
        if self.clause:
            out["clause"] = self.clause
        if self.as_declared and not self.passed:
            out["as_declared"] = dict(self.as_declared)
        if self.defects and not self.passed:
            out["defects"] = [{**key.as_dict(), "level": str(self.level_of(key))}
                              for key in self.defects]
            if self.unattributed:
                out["unattributed"] = self.unattributed
            if self.unattributed_stack:
                out["unattributed_stack"] = self.unattributed_stack
        return out


@dataclass(frozen=True)
class HungTask:
    """A task still running when the deadline passed, and where it waits."""

    name: str
    where: str
    """One line: ``file:line in function: source`` of the innermost await."""
    stack: str
    """The await chain, outermost first, one frame per line."""
    queue: str | None = None
    """The watched queue it waits on, when the harness could tell."""
    call: str | None = None
    """The queue method it waits in (``put``, ``get``, ``__anext__``...), with ``queue``."""


def _i64(values: Any = ()) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


@dataclass
class Observations:
    """A trace as arrays: what invariants and metrics read. Times are perf_counter_ns.

    ``recv_*`` holds consumer receipts in the order they were recorded, then the chunks the
    runner drained from watched queues after the scenario (``recv_stranded`` True).
    """

    send_producer: np.ndarray = field(default_factory=_i64)
    send_seq: np.ndarray = field(default_factory=_i64)
    send_intended: np.ndarray = field(default_factory=_i64)
    send_start: np.ndarray = field(default_factory=_i64)
    send_end: np.ndarray = field(default_factory=_i64)
    send_outcome: np.ndarray = field(default_factory=lambda: np.asarray([], dtype=object))
    send_full: np.ndarray = field(default_factory=_i64)
    """Per send: 1 the put started on a queue with no room, 0 it had room, -1 unknown (all
    -1 when left out)."""
    recv_consumer: np.ndarray = field(default_factory=_i64)
    recv_producer: np.ndarray = field(default_factory=_i64)
    recv_seq: np.ndarray = field(default_factory=_i64)
    recv_t: np.ndarray = field(default_factory=_i64)
    recv_stranded: np.ndarray = field(default_factory=lambda: np.asarray([], dtype=bool))
    events: list[tuple[str, Mapping[str, Any], int]] = field(default_factory=list)
    samples: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _accounts: dict[tuple[bool, int], Accounting] = field(default_factory=dict, repr=False,
                                                          compare=False)

    def __post_init__(self) -> None:
        for name in ("send_producer", "send_seq", "send_intended", "send_start", "send_end",
                     "recv_consumer", "recv_producer", "recv_seq", "recv_t"):
            setattr(self, name, _i64(getattr(self, name)))
        self.send_outcome = np.asarray(self.send_outcome, dtype=object).reshape(-1)
        self.send_full = _i64(self.send_full)
        if self.send_full.size != self.send_seq.size:
            self.send_full = np.full(self.send_seq.size, -1, dtype=np.int64)
        stranded = np.asarray(self.recv_stranded, dtype=bool).reshape(-1)
        if stranded.size != self.recv_t.size:
            stranded = np.zeros(self.recv_t.size, dtype=bool)
        self.recv_stranded = stranded
        sizes = {self.send_seq.size, self.send_intended.size, self.send_start.size,
                 self.send_end.size, self.send_outcome.size, self.send_producer.size}
        if len(sizes) != 1:
            raise ValueError(f"send arrays have different lengths: {sorted(sizes)}")
        sizes = {self.recv_consumer.size, self.recv_producer.size, self.recv_seq.size,
                 self.recv_t.size}
        if len(sizes) != 1:
            raise ValueError(f"receipt arrays have different lengths: {sorted(sizes)}")

    @property
    def send_keys(self) -> np.ndarray:
        return _key(self.send_producer, self.send_seq)

    @property
    def recv_keys(self) -> np.ndarray:
        return _key(self.recv_producer, self.recv_seq)

    def events_named(self, name: str) -> list[tuple[Mapping[str, Any], int]]:
        return [(payload, t) for event, payload, t in self.events if event == name]

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        t, v = self.samples.get(name, (_i64(), np.asarray([], dtype=np.float64)))
        return np.asarray(t, dtype=np.int64), np.asarray(v, dtype=np.float64)


def observe(trace: Trace, *, stranded: Sequence[tuple[int, int, int]] = ()) -> Observations:
    """Read a :class:`mocks.trace.Trace` into :class:`Observations`.

    ``stranded``: ``(producer, seq, t_ns)`` of chunks the runner drained from watched
    queues after the scenario.
    """
    sends = trace.sends
    receipts = trace.receipts
    extra = np.asarray(list(stranded), dtype=np.int64).reshape(-1, 3)
    samples = {name: (arr["t_ns"], arr["value"]) for name, arr in trace.samples.items()}
    return Observations(
        send_producer=sends["producer"], send_seq=sends["seq"],
        send_intended=sends["intended_ns"], send_start=sends["start_ns"],
        send_end=sends["end_ns"], send_outcome=sends["outcome"].astype(object),
        send_full=sends["full"],
        recv_consumer=np.concatenate([receipts["consumer"], np.full(len(extra), -1)]),
        recv_producer=np.concatenate([receipts["producer"], extra[:, 0]]),
        recv_seq=np.concatenate([receipts["seq"], extra[:, 1]]),
        recv_t=np.concatenate([receipts["recv_ns"], extra[:, 2]]),
        recv_stranded=np.concatenate([np.zeros(len(receipts), dtype=bool),
                                      np.ones(len(extra), dtype=bool)]),
        events=[(name, payload if isinstance(payload, Mapping) else {}, int(t))
                for name, payload, t in trace.events],
        samples=samples,
    )


@dataclass
class Expectations:
    """What a scenario declared through its context, plus what the runner saw at the end."""

    queues: dict[str, int | None] = field(default_factory=dict)
    """Watched queue name -> max_size (None: no bound to check)."""
    queue_peaks: dict[str, int] = field(default_factory=dict)
    """Watched queue name -> peak the target itself reported (statistics/monitor), if any."""
    buffers: dict[str, float | None] = field(default_factory=dict)
    """Watched buffer name -> max duration in ms (None: no bound to check)."""
    frames: dict[str, int] = field(default_factory=dict)
    """Trace sample series -> frame size in bytes: every value must be a multiple."""
    memory_growth_limit: int | None = None
    """Resident memory may grow by at most this many bytes (None: not checked)."""
    blocked_threshold_ms: float = 20.0
    """A put that took at least this long counts as blocked for the telemetry check."""
    hung: list[HungTask] = field(default_factory=list)
    """Tasks still blocked at the deadline (filled by the runner)."""
    abandoned: list[str] = field(default_factory=list)
    """Tasks that ignored cancellation after the deadline (filled by the runner)."""
    deadline_s: float | None = None
    """The scenario's deadline, named in the ``no_hang`` detail."""
    chunk_identity: bool = True
    """False when sends write into a buffer: the per-chunk checks do not apply."""
    stranded_ok: bool = False
    """Chunks left in watched queues are accounted for (set when the scenario was cut)."""
    latency_p99_ms: float | None = None
    """``latency_bounded``: P99 latency (from the intended send time) must not exceed it."""
    closed: dict[str, int] = field(default_factory=dict)
    """Watched queue name -> perf_counter_ns when the scenario began to close it
    (``ctx.closed``): a task still waiting on it at the deadline was not woken by close()."""
    queue_held: dict[str, int] = field(default_factory=dict)
    """Watched queue name -> items it held when the scenario was cut (filled by the runner):
    a consumer still waiting in get() on a queue that holds items was never woken."""
    queue_drops: dict[str, int] = field(default_factory=dict)
    """Watched queue name -> items the target's own counters say it dropped (statistics or
    monitor), when it has such a counter: a drop reported by a counter is not silent."""
    semantics: Semantics = field(default_factory=Semantics)
    """What the target declares (``target.semantics``): the level each clause is judged at."""
    pauses: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))
    """Garbage-collector pauses during the scenario, ``(start_ns, end_ns)`` rows
    (:mod:`harness.pauses`): time no check holds against the target."""
    lag_limit_ms: float = 20.0
    """Sends that started more than this late by the generator's own fault (schedule lag)
    are left out of ``latency_bounded``: their latency is the harness's, not the target's."""


# --- accounting ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Accounting:
    """Chunk accounting of one scenario (see the module docstring for the vocabulary)."""

    sent: int
    delivered: int
    stranded: int
    refused: int
    dropped: int
    lost: int
    duplicated: int
    unknown: int
    """Receipts of chunks no producer recorded sending."""
    exact: bool
    """True when drop events named their chunks, so ``lost_keys`` are the lost chunks."""
    lost_keys: tuple[int, ...]
    """Lost chunks when ``exact``; otherwise the undelivered, unrefused chunks (candidates)."""
    duplicate_keys: tuple[int, ...]
    drop_events: int
    dropped_but_delivered: int
    """Drop events naming a chunk that was nonetheless delivered (false telemetry)."""
    lost_candidates: np.ndarray = field(default_factory=_i64, repr=False, compare=False)
    """Every key of ``lost_keys`` (not cut at 64): the chunks to explain."""


def account(obs: Observations, *, stranded_ok: bool = False,
            counted_drops: int = 0) -> Accounting:
    """Count sent, delivered, dropped, refused, stranded, lost and duplicated chunks.

    ``stranded_ok``: chunks left in a queue are accounted for (the scenario was cut);
    otherwise they count as lost. The result is cached on ``obs`` (treat it as read-only).
    """
    cached = obs._accounts.get((stranded_ok, counted_drops))
    if cached is None:
        cached = obs._accounts[(stranded_ok, counted_drops)] = _account(
            obs, stranded_ok, counted_drops)
    return cached


def account_for(obs: Observations, expect: Expectations) -> Accounting:
    """:func:`account` with what the runner saw: stranded chunks, the targets' counters."""
    return account(obs, stranded_ok=expect.stranded_ok,
                   counted_drops=sum(expect.queue_drops.values()))


def _account(obs: Observations, stranded_ok: bool, counted_drops: int = 0) -> Accounting:
    send_keys = obs.send_keys
    sent_set = np.unique(send_keys)
    recv_keys = obs.recv_keys
    unique_recv, recv_counts = np.unique(recv_keys, return_counts=True)
    duplicate_keys = unique_recv[recv_counts > 1]
    duplicated = int((recv_counts[recv_counts > 1] - 1).sum())
    known = np.isin(unique_recv, sent_set)
    unknown = int((~known).sum())
    delivered_keys = np.unique(recv_keys[~obs.recv_stranded])
    delivered_keys = delivered_keys[np.isin(delivered_keys, sent_set)]
    stranded_keys = np.unique(recv_keys[obs.recv_stranded])
    stranded_keys = stranded_keys[np.isin(stranded_keys, sent_set)
                                  & ~np.isin(stranded_keys, delivered_keys)]
    refused_mask = np.isin(obs.send_outcome, list(REFUSED_OUTCOMES))
    refused_keys = np.unique(send_keys[refused_mask])
    told_keys = np.unique(send_keys[obs.send_outcome == "dropped"])  # put returned False
    told_keys = told_keys[~np.isin(told_keys, delivered_keys) & ~np.isin(told_keys, refused_keys)]

    drops = obs.events_named(DROP_EVENT)
    sequences = [payload.get("sequence") for payload, _t in drops]
    exact = bool(drops) and all(isinstance(s, (int, np.integer)) for s in sequences)
    accounted = np.union1d(np.union1d(delivered_keys, refused_keys), told_keys)
    if stranded_ok:
        accounted = np.union1d(accounted, stranded_keys)
    undelivered = np.setdiff1d(sent_set, accounted, assume_unique=True)
    dropped_but_delivered = 0
    if exact:
        dropped_keys = np.unique(np.asarray(sequences, dtype=np.int64))
        dropped_but_delivered = int(np.isin(dropped_keys, delivered_keys).sum())
        dropped_keys = np.intersect1d(dropped_keys, undelivered, assume_unique=True)
        lost_keys = np.setdiff1d(undelivered, dropped_keys, assume_unique=True)
        dropped = int(dropped_keys.size)
        lost = int(lost_keys.size)
    else:  # events that may stand for the puts that returned False go to those first
        dropped = min(max(0, len(drops) - int(told_keys.size)), int(undelivered.size))
        lost = int(undelivered.size) - dropped
        lost_keys = undelivered
    # drops the target counted (statistics, monitor) beyond those it told of otherwise
    counted = max(0, counted_drops - int(told_keys.size)
                  - max(0, len(drops) - int(told_keys.size)))
    by_counter = min(counted, lost)
    dropped += by_counter + int(told_keys.size)
    lost -= by_counter
    return Accounting(
        sent=int(send_keys.size),
        delivered=int(delivered_keys.size),
        stranded=int(stranded_keys.size) if stranded_ok else 0,
        refused=int(refused_keys.size),
        dropped=dropped,
        lost=lost,
        duplicated=duplicated,
        unknown=unknown,
        exact=exact,
        lost_keys=tuple(int(k) for k in lost_keys[:64]),
        duplicate_keys=tuple(int(k) for k in duplicate_keys[:64]),
        drop_events=len(drops),
        dropped_but_delivered=dropped_but_delivered,
        lost_candidates=np.asarray(lost_keys, dtype=np.int64),
    )


# --- which defect a check saw ----------------------------------------------------------------

_QUEUE_FIFO = DefectKey("ChunkQueue", "get", "fifo")
_QUEUE_BOUNDS = DefectKey("ChunkQueue", "put (full queue)", "bounds")
_QUEUE_LEVEL = DefectKey("ChunkQueue", "__len__", "level")
_BUFFER_BOUNDS = DefectKey("StreamingBuffer", "add_chunk (overflow)", "bounds")
_READ_FRAMES = DefectKey("StreamingBuffer", "read", "whole_frames")
_TRIM_FRAMES = DefectKey("StreamingBuffer", "add_chunk (overflow trim)", "whole_frames")
_PUT_HANG = DefectKey("ChunkQueue", "put (full queue)", "no_hang")
_CLOSE_PRODUCER_HANG = DefectKey("ChunkQueue", "close (blocked producer)", "no_hang")
_CLOSE_CONSUMER_HANG = DefectKey("ChunkQueue", "close (blocked consumer)", "no_hang")
_LOST_WAKEUP = DefectKey("ChunkQueue", "put (blocked consumer)", "no_hang")
_CLOSE_PRODUCER_LOSS = DefectKey("ChunkQueue", "close (blocked producer)", "no_loss")
_CLOSED_PUT_LOSS = DefectKey("ChunkQueue", "put (closed queue)", "no_loss")
_BLOCKED_UNSEEN = DefectKey("ChunkQueue", "put (full queue)", "backpressure_visible")
_FULL_DROP_SILENT = DefectKey("ChunkQueue", "put (full queue)", "no_silent_drop")
_CLOSED_DROP_SILENT = DefectKey("ChunkQueue", "put (closed queue)", "no_silent_drop")
_SERIES_KEYS = {"read_bytes": _READ_FRAMES, "dropped_bytes": _TRIM_FRAMES}
"""Trace series (before the first dot) whose lengths are a buffer's reads / overflow trims."""

CHECK_LEVELS: dict[str, Level] = {
    "none_lost": Level.UNIVERSAL,
    "none_duplicated": Level.UNIVERSAL,
    "fifo_per_producer": Level.UNIVERSAL,
    "bounds_held": Level.UNIVERSAL,
    "whole_frames": Level.UNIVERSAL,
    "no_hang": Level.UNIVERSAL,
    "memory_bounded": Level.UNIVERSAL,
    "latency_bounded": Level.RECOMMENDED,
    "telemetry": Level.RECOMMENDED,
}
"""The level of each check as a whole (what it files under itself). ``latency_bounded`` is
the report's bound, ours; ``telemetry`` judges events, which no target owes unless it says
so (its keys are judged by :func:`harness.defects.level_of`)."""


def clause_level(semantics: Semantics, clause: str | None, value: Any = True) -> Level:
    """DECLARED when the target declares ``clause`` with ``value``, else RECOMMENDED (our
    recommendation; a target that declares otherwise is not in breach of its contract)."""
    if clause is None:
        return Level.RECOMMENDED
    decl = semantics.get(clause)
    return Level.DECLARED if decl is not None and decl.value == value else Level.RECOMMENDED


def _levels(keys: Iterable[DefectKey], expect: Expectations,
            check_level: Level) -> tuple[tuple[DefectKey, str], ...]:
    """``Verdict.levels`` for ``keys``: each key whose level differs from the check's."""
    out = []
    for key in keys:
        level = level_of(key, expect.semantics)
        if level != check_level:
            out.append((key, level))
    return tuple(out)


def _after_close(expect: Expectations, start_ns: np.ndarray) -> np.ndarray:
    """Per put start: 1 when it started on a closed queue (every watched queue had been
    closed), 0 when no queue had been closed yet, -1 when it cannot be told (sends do not
    say which of several queues they went to)."""
    out = np.full(start_ns.size, -1, dtype=np.int8)
    if not expect.closed:
        out[:] = 0
        return out
    times = np.asarray(list(expect.closed.values()), dtype=np.int64)
    out[start_ns < times.min()] = 0
    if set(expect.closed) >= set(expect.queues):
        out[start_ns >= times.max()] = 1
    return out


def _closed_while_waiting(expect: Expectations, start_ns: np.ndarray,
                          end_ns: np.ndarray) -> np.ndarray:
    """Per put: a watched queue began to close while it was waiting."""
    hit = np.zeros(start_ns.size, dtype=bool)
    for t in expect.closed.values():
        hit |= (start_ns < t) & (t <= end_ns)
    return hit


def _explain_lost(obs: Observations, expect: Expectations,
                  acc: Accounting) -> tuple[tuple[DefectKey, ...], str | None]:
    """The defects behind lost chunks, where the close of a queue explains them: an item
    whose put was waiting when its queue closed, or that a closed queue accepted, and that
    nobody read. ``((), None)`` when nothing (or not all, unambiguously) can be explained."""
    candidates = acc.lost_candidates
    if not expect.closed or candidates.size == 0:
        return (), None
    keys = obs.send_keys
    order = np.argsort(keys, kind="stable")
    pos = np.clip(np.searchsorted(keys[order], candidates, side="right") - 1, 0,
                  max(keys.size - 1, 0))
    index = order[pos]  # each candidate's last send
    queued = obs.send_outcome[index] == "queued"
    straddled = queued & _closed_while_waiting(expect, obs.send_start[index],
                                               obs.send_end[index])
    after = queued & ~straddled & (_after_close(expect, obs.send_start[index]) == 1)
    other = int(candidates.size - straddled.sum() - after.sum())
    unexplained = other if acc.exact else other - acc.dropped  # drops hide among the rest
    if unexplained < 0:
        return (), None
    found = tuple(key for key, hits in ((_CLOSE_PRODUCER_LOSS, straddled),
                                        (_CLOSED_PUT_LOSS, after)) if hits.any())
    if not found:
        return (), None
    rest = (f"{_n(unexplained, 'lost chunk')} not explained by a close" if unexplained
            else None)
    return found, rest


def _hang_key(task: HungTask, expect: Expectations) -> DefectKey | None:
    """The defect a task still blocked at the deadline shows, when it waits in a watched
    queue: a producer in put() is woken by nothing on an open queue (no timeout) or was not
    woken by close(); a consumer in get() on a queue that holds items was not woken by the
    put that brought them (a lost wake-up), one on a closed queue not by close() (on an
    open, empty queue it waits for a producer: the scenario's business, not the target's)."""
    if task.queue is None or not task.call:
        return None
    closed = task.queue in expect.closed
    if task.call.startswith("put"):
        return _CLOSE_PRODUCER_HANG if closed else _PUT_HANG
    if task.call.startswith("get") or task.call in ("__anext__", "anext"):
        if expect.queue_held.get(task.queue, 0) > 0:
            return _LOST_WAKEUP  # items were there to take: a put did not wake it
        return _CLOSE_CONSUMER_HANG if closed else None
    return None


# --- the checks ---------------------------------------------------------------------------

def check_none_lost(obs: Observations, expect: Expectations) -> Verdict | None:
    """Every chunk sent is delivered, dropped with an event, refused, or still queued."""
    if obs.send_seq.size == 0 or not expect.chunk_identity:
        return None
    acc = account_for(obs, expect)
    left = ""
    if not expect.stranded_ok and obs.recv_stranded.any():
        left = f" ({int(obs.recv_stranded.sum())} left in a queue after the end of stream)"
    if acc.lost == 0:
        return Verdict("none_lost", True, (
            f"{acc.sent} sent = {acc.delivered} delivered + {acc.dropped} dropped with event"
            f" + {acc.refused} refused + {acc.stranded} still queued"))
    if acc.exact:
        detail = f"{_n(acc.lost, 'chunk')} lost{left}: {_name_keys(acc.lost_keys, acc.lost)}"
    else:
        detail = (f"{_n(acc.lost, 'chunk')} lost{left}: {acc.sent} sent, {acc.delivered} "
                  f"delivered, {_n(acc.drop_events, 'drop event')}, {acc.refused} refused, "
                  f"{acc.stranded} still queued; undelivered without exception: "
                  f"{_name_keys(acc.lost_keys, acc.lost + acc.dropped)}")
    defects, rest = _explain_lost(obs, expect, acc)
    return Verdict("none_lost", False, detail, defects=defects, unattributed=rest)


def check_none_duplicated(obs: Observations, expect: Expectations) -> Verdict | None:
    """No chunk is received twice, and nothing is received that was never sent."""
    if (obs.recv_seq.size == 0 and obs.send_seq.size == 0) or not expect.chunk_identity:
        return None
    acc = account_for(obs, expect)
    problems = []
    if acc.duplicated:
        problems.append(f"{_n(acc.duplicated, 'duplicate receipt')}: "
                        f"{_name_keys(acc.duplicate_keys, len(acc.duplicate_keys))}")
    if acc.unknown:
        problems.append(f"{_n(acc.unknown, 'receipt of a chunk', 'receipts of chunks')} "
                        "never sent")
    if problems:
        return Verdict("none_duplicated", False, "; ".join(problems),
                       defects=(_QUEUE_FIFO,) if expect.queues else ())
    return Verdict("none_duplicated", True, f"{_n(obs.recv_seq.size, 'receipt')}"
                   + ("" if obs.recv_seq.size == 1 else ", all distinct"))


def _call_bounds(obs: Observations) -> np.ndarray:
    """Per receipt: a time before which the get that returned it cannot have been called.

    A consumer calls get() again only after it recorded what the previous call returned, so
    the previous call's recording time (the latest earlier ``recv_t`` of the same consumer;
    items of one batch share theirs) bounds the next call's start. ``-1`` for a consumer's
    first call, and for the runner's own drain (consumer -1, which runs after everything).
    """
    bounds = np.full(obs.recv_t.size, -1, dtype=np.int64)
    for consumer in np.unique(obs.recv_consumer):
        if consumer < 0:
            continue
        where = np.nonzero(obs.recv_consumer == consumer)[0]
        times = obs.recv_t[where]
        previous = np.maximum.accumulate(np.concatenate([[-1], times[:-1]]))
        same_call = np.concatenate([[False], times[1:] == times[:-1]])
        # inside a batch, the bound is the one of the batch's first item
        bounds[where] = _carry_forward(previous, same_call)
    return bounds


def _carry_forward(values: np.ndarray, repeat: np.ndarray) -> np.ndarray:
    """``values`` where ``repeat`` is False; the last such value where it is True."""
    index = np.where(repeat, 0, np.arange(values.size))
    np.maximum.accumulate(index, out=index)
    return values[index]


def check_fifo_per_producer(obs: Observations, expect: Expectations) -> Verdict | None:
    """Each producer's chunks leave the queue in the order it sent them.

    Judged by the order items *leave* the queue, never by the order consumers happen to
    record them: with several consumers, a queue that hands items straight to waiting
    getters (anyio) may resume the second getter before the first, so recording order
    interleaves although the queue was FIFO. Two receipts are ordered when the queue must
    have released them in that order:

    - the same consumer received them one after the other (its gets are sequential);
    - or one consumer's get *returned* it before another consumer's get that received the
      other was even *called* (:func:`_call_bounds`).

    A later-sent chunk that left, in that sense, before an earlier one is out of order.
    """
    if obs.recv_seq.size == 0 or not expect.chunk_identity:
        return None
    out_of_order: list[str] = []
    count = 0
    bounds = _call_bounds(obs)
    live = ~obs.recv_stranded
    for producer in np.unique(obs.recv_producer):
        mine = np.nonzero(obs.recv_producer == producer)[0]
        if mine.size < 2:
            continue
        late_pairs: dict[int, int] = {}  # receipt index -> the seq it came after
        for consumer in np.unique(obs.recv_consumer[mine]):
            rows = mine[obs.recv_consumer[mine] == consumer]
            seqs = obs.recv_seq[rows]
            running_max = np.maximum.accumulate(seqs)
            for i in np.nonzero(seqs[1:] < running_max[:-1])[0] + 1:
                late_pairs[int(rows[i])] = int(running_max[i - 1])
        rows = mine[live[mine]]
        if rows.size > 1:
            by_seq = rows[np.argsort(obs.recv_seq[rows], kind="stable")]
            seqs = obs.recv_seq[by_seq]
            recv = obs.recv_t[by_seq]
            # for each receipt: the earliest return among chunks sent after it
            suffix_min = np.minimum.accumulate(recv[::-1])[::-1]
            later_min = np.concatenate([suffix_min[1:], [np.iinfo(np.int64).max]])
            later_seq_at = np.searchsorted(seqs, seqs, side="right")
            for pos in np.nonzero(later_min < bounds[by_seq])[0]:
                row = int(by_seq[pos])
                if row in late_pairs or later_seq_at[pos] >= seqs.size:
                    continue
                # a chunk sent after this one left before this one's get was called
                later = by_seq[later_seq_at[pos]:]
                first_out = later[np.argmin(obs.recv_t[later])]
                if obs.recv_t[first_out] < bounds[row]:
                    late_pairs[row] = int(obs.recv_seq[first_out])
        count += len(late_pairs)
        for row in sorted(late_pairs)[: _SHOWN - len(out_of_order)]:
            out_of_order.append(f"{chunk_id(int(producer), int(obs.recv_seq[row]))} after "
                                f"{chunk_id(int(producer), late_pairs[row])}")
    if count:
        more = f" and {count - len(out_of_order)} more" if count > len(out_of_order) else ""
        return Verdict("fifo_per_producer", False,
                       f"{_n(count, 'chunk')} left the queue out of order: "
                       f"{', '.join(out_of_order)}{more}",
                       defects=(_QUEUE_FIFO,) if expect.queues else ())
    producers = int(np.unique(obs.recv_producer).size)
    return Verdict("fifo_per_producer", True,
                   f"{_n(obs.recv_seq.size, 'receipt')} from {_n(producers, 'producer')} "
                   "left in order")


def _queue_peaks(obs: Observations, name: str, expect: Expectations) -> dict[str, float]:
    peaks: dict[str, float] = {}
    _t, values = obs.series(f"queue_depth.{name}")
    if values.size:
        peaks["sampled"] = float(values.max())
    if name in expect.queue_peaks:
        peaks["reported"] = float(expect.queue_peaks[name])
    if len(expect.queues) == 1:  # events do not name their queue: only usable for one queue
        sizes = [payload.get("queue_size") for _e, payload, _t in obs.events
                 if isinstance(payload, Mapping)]
        sizes = [s for s in sizes if isinstance(s, (int, float, np.integer, np.floating))]
        if sizes:
            peaks["events"] = float(max(sizes))
    return peaks


def check_bounds_held(obs: Observations, expect: Expectations) -> Verdict | None:
    """Queue depth never above ``max_size``; buffer level never above its max duration."""
    bounded_queues = {n: m for n, m in expect.queues.items() if m is not None}
    bounded_buffers = {n: m for n, m in expect.buffers.items() if m is not None}
    if not bounded_queues and not bounded_buffers:
        return None
    breaches: list[str] = []
    held: list[str] = []
    defects: list[DefectKey] = []
    for name, max_size in bounded_queues.items():
        peaks = _queue_peaks(obs, name, expect)
        peak = max(peaks.values(), default=0.0)
        how = ", ".join(f"{k} {v:g}" for k, v in peaks.items()) or "no samples"
        if peak > max_size and peaks.get("sampled", 0) > max_size \
                and "reported" in peaks and peaks["reported"] <= max_size \
                and peaks.get("events", 0) <= max_size:
            # its own peak says it held no more than max_size: len() is what is wrong
            breaches.append(f"{name} len() {peaks['sampled']:g} > max_size {max_size} while "
                            f"the queue's own peak is {peaks['reported']:g}")
            defects.append(_QUEUE_LEVEL)
        elif peak > max_size:
            breaches.append(f"{name} depth {peak:g} > max_size {max_size} ({how})")
            defects.append(_QUEUE_BOUNDS)
        else:
            held.append(f"{name} peak {peak:g}/{max_size}")
    for name, max_ms in bounded_buffers.items():
        _t, levels = obs.series(f"buffer_ms.{name}")
        peak = float(levels.max()) if levels.size else 0.0
        if peak > max_ms * (1 + 1e-9) + 1e-9:
            over = int((levels > max_ms * (1 + 1e-9) + 1e-9).sum())
            breaches.append(f"{name} level {peak:.3f} ms > max {max_ms:g} ms "
                            f"in {_of(over, levels.size, 'sample')}")
            defects.append(_BUFFER_BOUNDS)
        else:
            held.append(f"{name} peak {peak:.1f}/{max_ms:g} ms")
    if breaches:
        return Verdict("bounds_held", False, "; ".join(breaches),
                       defects=tuple(dict.fromkeys(defects)))
    return Verdict("bounds_held", True, "; ".join(held))


def check_whole_frames(obs: Observations, expect: Expectations) -> Verdict | None:
    """Every recorded length in the declared series is a whole number of frames."""
    if not expect.frames:
        return None
    broken: list[str] = []
    defects: list[DefectKey] = []
    unnamed: list[str] = []
    total = 0
    for series, frame_bytes in expect.frames.items():
        _t, lengths = obs.series(series)
        total += int(lengths.size)
        bad = np.nonzero(np.mod(lengths.astype(np.int64), frame_bytes) != 0)[0]
        if bad.size:
            shown = ", ".join(f"#{i}={int(lengths[i])} B" for i in bad[:_SHOWN])
            more = f" and {bad.size - _SHOWN} more" if bad.size > _SHOWN else ""
            broken.append(f"{bad.size} of {lengths.size} {series} not a multiple of "
                          f"{frame_bytes} B: {shown}{more}")
            key = _SERIES_KEYS.get(series.split(".")[0])
            if key is None:
                unnamed.append(broken[-1])
            else:
                defects.append(key)
    if broken:
        return Verdict("whole_frames", False, "; ".join(broken),
                       defects=tuple(dict.fromkeys(defects)),
                       unattributed="; ".join(unnamed) or None)
    return Verdict("whole_frames", True, f"{_n(total, 'length')}, "
                   + ("a whole number of frames" if total == 1 else "all whole frames"))


def check_no_hang(obs: Observations, expect: Expectations) -> Verdict:
    """No watched task is still blocked when the deadline passes (always checked)."""
    if not expect.hung:
        return Verdict("no_hang", True, "every task finished before the deadline")
    deadline = f" at the {expect.deadline_s:g} s deadline" if expect.deadline_s else ""
    names = "; ".join(f"{task.name} in {task.where}" for task in expect.hung[:_SHOWN])
    abandoned = (f"; {len(expect.abandoned)} ignored cancellation: "
                 f"{', '.join(expect.abandoned[:_SHOWN])}" if expect.abandoned else "")
    stack = "\n\n".join(f"{task.name}:\n{task.stack}" for task in expect.hung)
    keys = [_hang_key(task, expect) for task in expect.hung]
    starved = {task.queue for task, key in zip(expect.hung, keys, strict=True)
               if key == _LOST_WAKEUP}
    # a producer waiting on a queue that filled because its consumer was never woken
    keys = [_LOST_WAKEUP if key == _PUT_HANG and task.queue in starved else key
            for task, key in zip(expect.hung, keys, strict=True)]
    defects = tuple(dict.fromkeys(k for k in keys if k is not None))
    unplaced = [task for task, key in zip(expect.hung, keys, strict=True) if key is None]
    rest = rest_stack = None
    if defects and unplaced:
        rest = "; ".join(f"{task.name} in {task.where}" for task in unplaced[:_SHOWN])
        rest_stack = "\n\n".join(f"{task.name}:\n{task.stack}" for task in unplaced)
    return Verdict("no_hang", False,
                   f"{_n(len(expect.hung), 'task')} still blocked{deadline}: {names}{abandoned}",
                   stack=stack, defects=defects, unattributed=rest,
                   unattributed_stack=rest_stack,
                   levels=_levels(defects, expect, Level.UNIVERSAL))


def check_memory_bounded(obs: Observations, expect: Expectations) -> Verdict | None:
    """Resident memory grows by at most the declared limit over the scenario."""
    if expect.memory_growth_limit is None:
        return None
    _t, rss = obs.series("rss_bytes")
    if rss.size < 2:
        return Verdict("memory_bounded", True, "fewer than two memory samples")
    growth = int(rss.max() - rss[0])
    limit = expect.memory_growth_limit
    detail = f"RSS grew {growth / 2**20:.1f} MiB (limit {limit / 2**20:.1f} MiB)"
    return Verdict("memory_bounded", growth <= limit, detail)


def check_telemetry(obs: Observations, expect: Expectations) -> Verdict | None:
    """Conditions the scenario saw were announced by the target's events, while they happened.

    - every put that returned False (dropped) has a ``stream.chunk_dropped`` event;
    - every put that started on a queue with no room (the producer's ``full`` probe) and
      took ``blocked_threshold_ms`` or longer saw ``stream.producer_blocked`` while it was
      blocked: after it started and within ``max(threshold / 4, duration / 4)`` of its start
      (an event emitted only when the put returns is too late to act on). A slow put that
      started with room never waited (a GC or scheduler pause made it slow) and is not
      judged; without a probe (a target without ``__len__``) every slow put is;
    - every put that timed out saw ``stream.producer_timeout``.
    """
    if obs.send_seq.size == 0:
        return None
    problems: list[str] = []
    defects: list[DefectKey] = []
    unnamed: list[str] = []
    checked: list[str] = []
    outcome = obs.send_outcome
    returned_false = int((outcome == "dropped").sum())
    drop_events = len(obs.events_named(DROP_EVENT))
    if returned_false:
        checked.append(_n(returned_false, "refused put"))
        if drop_events < returned_false:
            problems.append(f"{_n(returned_false - drop_events, 'put')} returned False "
                            f"without {DROP_EVENT} ({_n(drop_events, 'event')})")
            where = set(_after_close(expect, obs.send_start[outcome == "dropped"]).tolist())
            if where == {1}:
                defects.append(_CLOSED_DROP_SILENT)
            elif where == {0}:
                defects.append(_FULL_DROP_SILENT)
            else:
                unnamed.append(problems[-1])
    counted = sum(expect.queue_drops.values())
    unannounced = counted - drop_events
    if unannounced > 0 and expect.semantics.value("queue.drop_events") is True:
        # it promises an event per drop, and its own counter counted more drops
        checked.append(_n(counted, "drop counted by the queue", "drops counted by the queue"))
        problems.append(f"the queue counted {counted} drops, {drop_events} "
                        f"{DROP_EVENT} events announced them "
                        f"({_n(unannounced, 'drop')} silent)")
        defects.append(_FULL_DROP_SILENT)
    acc = account_for(obs, expect)
    if acc.dropped_but_delivered:
        problems.append(
            f"{acc.dropped_but_delivered} {DROP_EVENT} "
            + ("event names a chunk that was" if acc.dropped_but_delivered == 1
               else "events name chunks that were") + " delivered")
        unnamed.append(problems[-1])

    threshold_ns = int(expect.blocked_threshold_ms * 1e6)
    duration = obs.send_end - obs.send_start
    paused = overlap_ns(expect.pauses, obs.send_start, obs.send_end)
    slow = duration - paused >= threshold_ns  # a GC pause is nobody's wait
    excused = int(((duration >= threshold_ns) & ~slow & (obs.send_full != 0)).sum())
    blocked = np.nonzero(slow & (obs.send_full != 0))[0]
    if blocked.size:
        checked.append(_n(int(blocked.size), "blocked put"))
        event_t = np.sort(np.asarray([t for _p, t in obs.events_named(BLOCKED_EVENT)],
                                     dtype=np.int64))
        starts = obs.send_start[blocked]
        allow = np.maximum(threshold_ns // 4, duration[blocked] // 4)
        first = np.searchsorted(event_t, starts, side="left")
        ok = np.zeros(blocked.size, dtype=bool)
        has = first < event_t.size
        ok[has] = event_t[first[has]] <= starts[has] + allow[has]
        late = blocked[~ok]
        if late.size:
            ids = [chunk_id(int(obs.send_producer[i]), int(obs.send_seq[i])) for i in late]
            worst = float(duration[late].max()) / 1e6
            problems.append(
                f"{_of(int(late.size), int(blocked.size), 'put')} blocked (up to "
                f"{worst:.0f} ms) without {BLOCKED_EVENT} while blocked: "
                f"{', '.join(ids[:_SHOWN])}"
                + (f" and {late.size - _SHOWN} more" if late.size > _SHOWN else ""))
            defects.append(_BLOCKED_UNSEEN)
    paused = int((slow & (obs.send_full == 0)).sum())
    if paused:
        checked.append(f"{_n(paused, 'slow put')} that started with room (not judged)")
    timeouts = int((outcome == "timeout").sum())
    if timeouts:
        checked.append(_n(timeouts, "timed-out put"))
        timeout_events = len(obs.events_named(TIMEOUT_EVENT))
        if timeout_events < timeouts:
            problems.append(f"{_n(timeouts - timeout_events, 'put timeout')} without "
                            f"{TIMEOUT_EVENT}")
            unnamed.append(problems[-1])
    excuse = (f"{_n(excused, 'put')} slow only by a GC pause not judged" if excused
              else None)
    level = clause_level(expect.semantics, "queue.drop_events") if unnamed \
        else Level.RECOMMENDED
    if problems:
        keys = tuple(dict.fromkeys(defects))
        return Verdict("telemetry", False, "; ".join(problems), defects=keys,
                       unattributed="; ".join(unnamed) or None, level=level,
                       levels=_levels(keys, expect, level), excused=excuse)
    return Verdict("telemetry", True,
                   "announced: " + ", ".join(checked) if checked else "nothing to announce",
                   level=level, excused=excuse)


def check_latency_bounded(obs: Observations, expect: Expectations) -> Verdict | None:
    """P99 latency from the intended send time to receipt is within the declared bound.

    Judged on the target's share: garbage-collector pauses during a chunk's trip are taken
    off its latency, and chunks the load generator itself sent late (schedule lag above
    ``expect.lag_limit_ms``: the harness, not the target, set their pace) are left out;
    ``excused`` says how many of each. Our bound, not the target's promise: RECOMMENDED.
    """
    if expect.latency_p99_ms is None:
        return None
    latencies, intended, schedule_lag = _latency_rows(obs)
    if latencies.size == 0:
        return Verdict("latency_bounded", False, "no chunk was delivered",
                       level=Level.RECOMMENDED)
    excuses = []
    late = schedule_lag > expect.lag_limit_ms * 1e6
    if late.any() and not late.all():
        excuses.append(f"{_n(int(late.sum()), 'chunk')} sent late by the load generator "
                       "left out")
        latencies, intended = latencies[~late], intended[~late]
    paused = overlap_ns(expect.pauses, intended, intended + latencies)
    if paused.any():
        worst_before = float(nearest_rank(latencies, [99.0])[0]) / 1e6
        latencies = latencies - paused
        excuses.append(f"GC pauses taken off {_n(int((paused > 0).sum()), 'latency', 'latencies')}"
                       f" (P99 {worst_before:.3f} ms with them)")
    p99 = float(nearest_rank(latencies, [99.0])[0]) / 1e6
    worst = float(latencies.max()) / 1e6
    detail = (f"P99 {p99:.3f} ms {'<=' if p99 <= expect.latency_p99_ms else '>'} "
              f"{expect.latency_p99_ms:g} ms over {_n(int(latencies.size), 'chunk')} "
              f"(max {worst:.3f} ms)")
    return Verdict("latency_bounded", p99 <= expect.latency_p99_ms, detail,
                   level=Level.RECOMMENDED, excused="; ".join(excuses) or None)


def _latency_rows(obs: Observations) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per delivered chunk (first receipt, stranded excluded): latency from the intended
    send time, the intended time, and the schedule lag of its send (ns)."""
    empty = np.empty(0, dtype=np.int64)
    if obs.recv_t.size == 0 or obs.send_seq.size == 0:
        return empty, empty, empty
    keys = obs.send_keys
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    delivered = ~obs.recv_stranded
    recv_keys = obs.recv_keys[delivered]
    recv_t = obs.recv_t[delivered]
    first_recv_keys, first = np.unique(recv_keys, return_index=True)
    pos = np.clip(np.searchsorted(sorted_keys, first_recv_keys), 0, sorted_keys.size - 1)
    matched = sorted_keys[pos] == first_recv_keys
    index = order[pos[matched]]
    intended = obs.send_intended[index]
    return recv_t[first[matched]] - intended, intended, schedule_lag_ns(obs)[index]


def schedule_lag_ns(obs: Observations) -> np.ndarray:
    """Per send (in send order): put start - max(intended time, the same producer's
    previous put end), the delay the generator itself caused (the target's own slowness,
    a put that waited, is in the previous put's end and not counted)."""
    lags = np.zeros(obs.send_seq.size, dtype=np.int64)
    for producer in np.unique(obs.send_producer):
        where = np.nonzero(obs.send_producer == producer)[0]
        intended = obs.send_intended[where]
        start, end = obs.send_start[where], obs.send_end[where]
        prev_end = np.concatenate([[intended[0]], end[:-1]])
        lags[where] = start - np.maximum(intended, prev_end)
    return lags


def latencies_ns(obs: Observations) -> np.ndarray:
    """Intended send -> first receipt, ns, for every delivered chunk (stranded excluded)."""
    return _latency_rows(obs)[0]


def delivered_times_ns(obs: Observations) -> tuple[np.ndarray, np.ndarray]:
    """``(intended send, first receipt)`` in ns of every delivered chunk (stranded
    excluded), in the order of the chunks' keys."""
    latency, intended, _lag = _latency_rows(obs)
    return intended, intended + latency


CHECKS: Sequence[Callable[[Observations, Expectations], Verdict | None]] = (
    check_none_lost,
    check_none_duplicated,
    check_fifo_per_producer,
    check_bounds_held,
    check_whole_frames,
    check_no_hang,
    check_memory_bounded,
    check_latency_bounded,
    check_telemetry,
)


def check_all(obs: Observations, expect: Expectations) -> list[Verdict]:
    """Run every check in :data:`CHECKS`; the ones that do not apply are left out."""
    verdicts = []
    for check in CHECKS:
        verdict = check(obs, expect)
        if verdict is not None:
            verdicts.append(verdict)
    return verdicts
