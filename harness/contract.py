"""The three levels a target is judged at, and the semantics a target declares.

Every check and fuzz property names the level of the clause it judges:

- :attr:`Level.UNIVERSAL`: what any queue, channel or audio buffer must do whatever its
  API (an accepted item is delivered once or reported dropped; per-producer FIFO by
  dequeue order; a configured bound holds; whole frames; a call documented as bounded
  ends; valid input never crashes). Broken: a **bug**.
- :attr:`Level.DECLARED`: what this target says it does, in its own docs and docstrings,
  recorded by its adapter as :class:`Declaration` s (clause, value, where it is written).
  Broken: a **bug**. Behaviour that matches a declaration never is one.
- :attr:`Level.RECOMMENDED`: our stricter contract (timeouts, validation, events while
  blocking, explicit policies, level queries). Missing: an **improvement** or a DX entry,
  worded as advice, never a bug.

A clause a target does not declare is judged only at the universal level, and our
recommendation for it (:data:`CLAUSES`) may make an improvement.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "CLAUSES",
    "Clause",
    "Declaration",
    "Level",
    "Semantics",
    "ledger_kind",
]


class Level(StrEnum):
    """The level of the contract a check judges at."""

    UNIVERSAL = "universal"
    DECLARED = "declared"
    RECOMMENDED = "recommended"


def ledger_kind(level: Level | str) -> str:
    """The ledger a broken clause of ``level`` goes to: ``bug`` or ``improvement``."""
    return "improvement" if Level(level) is Level.RECOMMENDED else "bug"


@dataclass(frozen=True)
class Clause:
    """One clause a target may declare, with the values it may take."""

    name: str
    """Dotted name, part first: ``queue.closed_put``."""
    meaning: str
    """What the clause says, in a maintainer's words."""
    values: tuple[Any, ...]
    """The values a declaration may give (booleans for yes/no clauses)."""
    recommended: Any
    """Our recommendation (level 3), judged only as an improvement."""
    many: bool = False
    """The value is a frozenset of some of ``values`` (e.g. the overflow policies offered)."""

    def accepts(self, value: Any) -> bool:
        """Whether a declaration may give ``value``."""
        if self.many:
            return isinstance(value, frozenset) and value <= frozenset(self.values)
        return value in self.values


CLAUSES: dict[str, Clause] = {
    c.name: c for c in (
        Clause("queue.closed_put",
               "what put() does on a closed queue",
               ("raise", "return_false"), "raise"),
        Clause("queue.end_of_stream",
               "what get() does on a closed, drained queue",
               ("return_none", "raise"), "return_none"),
        Clause("queue.close_delivers_pending",
               "items queued before close() are still delivered to consumers",
               (True, False), True),
        Clause("queue.close_wakes_getters",
               "close() wakes every consumer blocked in get()",
               (True, False), True),
        Clause("queue.close_wakes_putters",
               "close() wakes every producer blocked in put()",
               (True, False), True),
        Clause("queue.close_idempotent",
               "close() may be called again and does nothing",
               (True, False), True),
        Clause("queue.none_item",
               "what put(None) means",
               ("data", "end_marker", "refused"), "refused"),
        Clause("queue.overflow_policies",
               "what a put on a full queue may do, by policy: block waits for room, "
               "drop_oldest evicts the oldest item, drop_newest discards the new one, "
               "reject raises",
               ("block", "drop_oldest", "drop_newest", "reject"),
               frozenset({"block", "drop_oldest", "drop_newest", "reject"}), many=True),
        Clause("queue.drop_events",
               "every dropped item is reported by a stream.chunk_dropped event",
               (True, False), True),
        Clause("queue.blocked_events",
               "stream.producer_blocked is emitted when a put starts to wait",
               (True, False), True),
        Clause("queue.validates_config",
               "bad constructor arguments are refused with ValueError/TypeError",
               (True, False), True),
        Clause("queue.zero_size",
               "what a queue made with a size of 0 is: refused as invalid, unbounded "
               "(asyncio.Queue's maxsize=0), or unbuffered (a put waits for a receiver)",
               ("refused", "unbounded", "unbuffered"), "refused"),
        Clause("buffer.validates_chunks",
               "add_chunk() refuses a chunk of another rate, channel count or format",
               (True, False), True),
        Clause("buffer.validates_config",
               "bad constructor arguments are refused with ValueError/TypeError",
               (True, False), True),
        Clause("buffer.underrun_events",
               "a short read emits stream.buffer_underrun, the next full one recovered",
               (True, False), True),
        Clause("buffer.overflow_events",
               "an overflow trim emits stream.buffer_overflow with the bytes dropped",
               (True, False), True),
        Clause("queue.full_put",
               "what put() does on a full queue that nobody drains",
               ("block", "block_with_timeout", "drop_oldest", "drop_newest", "reject"),
               "block_with_timeout"),
        Clause("queue.validates_input",
               "bad arguments to the queue's methods are refused with ValueError/TypeError",
               (True, False), True),
        Clause("queue.event_payloads",
               "which keys the queue's events carry: ours (the dropped chunk's sequence, "
               "sizes, reason) or the target's own",
               ("ours", "own"), "ours"),
        Clause("buffer.validates_input",
               "bad arguments to the buffer's methods (a negative or NaN duration) are refused",
               (True, False), True),
        Clause("buffer.overflow_trim",
               "how much audio an overflow trims: only what the bound requires, or fixed steps",
               ("minimal", "fixed_step"), "minimal"),
        Clause("buffer.readiness",
               "when is_ready()/is_full() turn true: once the whole frames that fit are held, "
               "or once duration_ms reaches the configured value",
               ("whole_frames", "duration"), "whole_frames"),
        Clause("buffer.event_payloads",
               "which keys the buffer's events carry: ours or the target's own",
               ("ours", "own"), "ours"),
        Clause("chunk.validates_config",
               "a bad AudioChunk (negative sample rate, no channels) is refused at construction",
               (True, False), True),
        Clause("monitor.validates_config",
               "bad monitor arguments (marks outside 0..100, low above high) are refused",
               (True, False), True),
        Clause("monitor.validates_input",
               "bad arguments to the monitor's record_* methods are refused",
               (True, False), True),
        Clause("monitor.throttle_marks",
               "should_throttle() turns on at the high-water mark and off at the low-water mark "
               "of the current fill",
               (True, False), True),
        Clause("functions.validates_input",
               "the module's functions refuse bad arguments (zero channels, negative sizes)",
               (True, False), True),
        Clause("pipeline.close_deadline",
               "closing a running pipeline ends within the deadline the caller gives, "
               "whatever a stage is doing (work in flight is cancelled)",
               (True, False), True),
        Clause("pipeline.barge_in",
               "what an interruption does to the bot audio on its way to the speaker: "
               "discards all of it, or still plays the chunk being written",
               ("discard_all", "play_current_write"), "discard_all"),
        Clause("pipeline.hop_overhead",
               "handing an item from one stage to the next adds well under a playout chunk "
               "to a turn's latency",
               (True, False), True),
        Clause("pipeline.bounded_edges",
               "the queues between stages are bounded, so a slow stage cannot grow memory",
               (True, False), True),
        Clause("events.emitter_failures",
               "what happens when the event emitter raises: isolated and counted/logged, or "
               "isolated silently",
               ("visible", "suppressed"), "visible"),
        Clause("queue.timeout_events",
               "a put that times out emits stream.producer_timeout",
               (True, False), True),
        Clause("queue.throttle_events",
               "the queue's monitor emits stream.throttle_started/ended at its high/low-water "
               "marks",
               (True, False), True),
        Clause("queue.monitor_counts_drops",
               "the queue's monitor counts every item its overflow policy dropped",
               (True, False), True),
        Clause("events.emitter_isolated",
               "an event emitter that raises never breaks the data path",
               (True, False), True),
    )
}
"""The clauses the built-in checks know. Adapters may declare others (a user's own check)."""


@dataclass(frozen=True)
class Declaration:
    """One thing a target says it does, and where it says so."""

    clause: str
    value: Any
    where: str
    """Where it is written: ``stageflow/helpers/streaming.py, ChunkQueue.put docstring``."""
    quote: str = ""
    """The words, when short enough to quote."""

    def as_dict(self) -> dict[str, Any]:
        value = sorted(self.value) if isinstance(self.value, frozenset) else self.value
        data = {"clause": self.clause, "value": value, "where": self.where}
        if self.quote:
            data["quote"] = self.quote
        return data


class Semantics(Mapping[str, Declaration]):
    """A target's declarations, by clause. Immutable.

    :raises ValueError: a known clause given a value it does not take, or declared twice.
    """

    def __init__(self, declarations: Iterable[Declaration] = ()) -> None:
        by_clause: dict[str, Declaration] = {}
        for decl in declarations:
            if decl.clause in by_clause:
                raise ValueError(f"clause {decl.clause!r} declared twice")
            known = CLAUSES.get(decl.clause)
            if known is not None and not known.accepts(decl.value):
                raise ValueError(
                    f"clause {decl.clause!r} takes one of {known.values}, got {decl.value!r}"
                )
            if not decl.where:
                raise ValueError(f"clause {decl.clause!r}: say where it is declared (where=)")
            by_clause[decl.clause] = decl
        self._by_clause = by_clause

    def __getitem__(self, clause: str) -> Declaration:
        return self._by_clause[clause]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._by_clause))

    def __len__(self) -> int:
        return len(self._by_clause)

    def value(self, clause: str, default: Any = None) -> Any:
        """The declared value of ``clause``, or ``default`` when the target is silent."""
        decl = self._by_clause.get(clause)
        return default if decl is None else decl.value

    def level(self, clause: str) -> Level:
        """DECLARED when the target declares ``clause``, else RECOMMENDED."""
        return Level.DECLARED if clause in self._by_clause else Level.RECOMMENDED

    def as_list(self) -> list[dict[str, Any]]:
        return [self._by_clause[c].as_dict() for c in self]

    @classmethod
    def from_list(cls, items: Any) -> Semantics:
        """The semantics :meth:`as_list` wrote (in a results document); anything else, or a
        malformed item, is left out: a document without declarations declares nothing."""
        declarations = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping) and isinstance(item.get("clause"), str) and \
                    isinstance(item.get("where"), str) and "value" in item:
                value = item["value"]
                known = CLAUSES.get(item["clause"])
                if known is not None and known.many and isinstance(value, list):
                    value = frozenset(value)  # as_dict wrote the set as a sorted list
                declarations.append(Declaration(item["clause"], value, item["where"],
                                                str(item.get("quote") or "")))
        try:
            return cls(declarations)
        except ValueError:
            return cls()

    def __repr__(self) -> str:
        return f"Semantics({len(self)} declarations)"
