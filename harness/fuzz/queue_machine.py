"""Model-based fuzzing of a target's ChunkQueue.

The model is a ``deque`` of the items the queue holds, plus whether it is closed and the
blocked calls still waiting. Blocking calls (``put``, ``get``, ``__anext__``) run as tasks
on the machine's loop: a call the contract says may wait stays pending across rules; one
that must end (room, an item, ``close()``) is given until nothing can wake it (or the hang
deadline) and is otherwise a hang. Non-blocking calls (``put_nowait``, ``get_nowait``) run
inside the loop too, as the reproduction runs them (some libraries refuse them without a
running loop). An error is labelled by the target's declared error classes for the call
(``harness.targets.base.error_kind``: anyio's ``WouldBlock`` is full for a put, empty for a
get), by its class name only when the target declares nothing for it.
Properties (DESIGN.md, "stageflow_core"):

- ``outcome``: every call ends the way the contract allows (queued, dropped by the policy,
  refused with the right error; ``None`` may be refused as an item);
- ``bounds``: the queue never holds more than ``max_size`` items;
- ``fifo``: items come out once each, in the order they went in;
- ``no_loss``: an accepted item is delivered, also by ``async for``;
- ``no_silent_drop``: every dropped item has exactly one ``stream.chunk_dropped`` event;
- ``no_hang``: a blocked call ends once it can (room, an item) or must (``close()``);
- ``put_timeout``: ``put(timeout=)`` ends by its timeout;
- ``level``: ``len(queue)`` is the number of items held;
- ``backpressure_visible``: ``stream.producer_blocked`` is emitted when a put starts to wait;
- ``end_of_stream``: a closed, drained queue ends every consumer;
- ``throttle`` (H3): after every operation the monitor's ``should_throttle()`` and the
  ``stream.throttle_started``/``ended`` events (which alternate) agree with high/low-water
  hysteresis applied to the fill the model holds — on puts and on gets alike (marks: what
  the monitor reports, else 80/20);
- ``minimal_trim``: a ``drop_oldest`` put on a full queue evicts exactly one item;
- cancellation (``outcome`` and ``no_loss`` of ``cancel (blocked put|get|anext)``): a
  blocked call cancelled, also just after it was woken — in the same event-loop iteration
  as the ``put_nowait``/``get_nowait`` that woke it, before it resumed, as a timeout or a
  task group cancels it at that moment — either completes (the get returns the item, the
  put queues its item) or ends cancelled having taken or queued nothing: a cancelled get
  loses no item, a cancelled put's item is never delivered (its caller was told it was
  not sent);
- ``stats``: the monitor's ``stats`` count the items accepted, the items the overflow policy
  dropped and the peak level;
- ``event_payload``: drop and throttle events carry their documented keys, and a drop event
  names the dropped chunk's ``sequence``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections import deque
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from harness.fuzz import runtime
from harness.fuzz.core import FuzzMachine, guarded
from harness.targets.base import error_kind

__all__ = ["ITEMS", "QueueMachine"]

COMPONENT = "ChunkQueue"
QUEUED = frozenset({"ok:True", "ok:None"})
MAX_PENDING = 3
TIMEOUTS = (0.0, 0.001, 0.005)
_CLOSED_PUT = {"raise": frozenset({"raised:closed"}), "return_false": frozenset({"ok:False"})}
"""A put on a closed queue, by the target's ``queue.closed_put``: its declared answer only."""

_PRIMITIVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.tuples(st.integers(0, 9), st.integers(0, 9)),
)
ITEMS = st.one_of(
    st.tuples(st.just("chunk"), st.tuples(st.integers(0, 2**16), st.integers(0, 8))),
    st.tuples(st.just("value"), _PRIMITIVES),
)
"""General item values: audio chunks ``(sequence, frames)`` and primitives (``None``
included). Chunks come first, so a shrunk reproduction uses chunks unless the defect needs
another value."""


@dataclass
class Item:
    obj: Any
    label: str
    name: str


@dataclass
class Pending:
    task: asyncio.Task[Any]
    kind: str  # "put" | "get" | "anext"
    name: str
    item: Item | None = None


EXPECTED = {
    "outcome": "every call ends as the contract allows: queued, dropped by the overflow "
               "policy, or refused with QueueFull/QueueClosed (None may be refused as an item)",
    "bounds": "the queue never holds more than max_size items",
    "fifo": "items are delivered once each, in the order they were put",
    "no_loss": "every accepted item is delivered, by get() and by async iteration",
    "no_silent_drop": "every dropped item is reported by exactly one stream.chunk_dropped event",
    "no_hang": "a blocked put ends when room appears or the queue closes; a blocked get ends "
               "when an item arrives or the queue closes",
    "put_timeout": "put(item, timeout=t) returns or raises QueueFull by t",
    "level": "len(queue) is the number of items the queue holds",
    "backpressure_visible": "stream.producer_blocked is emitted when a put starts to wait",
    "end_of_stream": "on a closed, drained queue get() returns None and async iteration ends",
    "throttle": "after every put and get, should_throttle() and the alternating "
                "stream.throttle_started/stream.throttle_ended events follow high/low-water "
                "hysteresis of the queue's fill: on once the fill reaches the high-water mark, "
                "off once it falls to the low-water mark (a consumer draining the queue ends "
                "throttling then)",
    "minimal_trim": "a drop_oldest put on a full queue evicts exactly one item",
    "stats": "monitor.stats counts every accepted item (total_items), every item the overflow "
             "policy dropped (dropped_items) and the peak level (max_queue_size)",
    "event_payload": "stream.chunk_dropped carries reason, queue_size, max_size and the dropped "
                     "chunk's sequence; stream.throttle_started/ended carry fill_percentage "
                     "and queue_size",
}
CANCELLED = ("a blocked call cancelled, also as it is woken, either completes or ends "
             "cancelled having queued or taken nothing: a cancelled get loses no item (it "
             "stays for the next get), a cancelled put's item is never delivered (its "
             "producer was told it was not sent)")
"""The universal clause of cancellation, for every ``cancel (blocked ...)`` check."""
PAYLOAD_KEYS = {
    "stream.chunk_dropped": ("reason", "queue_size", "max_size"),
    "stream.throttle_started": ("fill_percentage", "queue_size"),
    "stream.throttle_ended": ("fill_percentage", "queue_size"),
}
DEFAULT_MARKS = (80.0, 20.0)
"""High and low water marks (percent) of a monitor that does not report its own."""


def _mark(monitor: Any, name: str, default: float) -> float:
    value = getattr(monitor, name, None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


def _can(target: Any, capability: str) -> bool:
    """Whether the target's queue has ``capability`` (``close``, ``iterate``, ``get_nowait``;
    harness.targets.Capabilities); a target whose capabilities do not say has it."""
    return bool(getattr(target.capabilities, capability, True))


def _woken(machine: Any) -> Pending | None:
    """The blocked call a non-blocking call would wake now (the first waiting get of an
    empty queue, or the first waiting put of a full blocking queue), when the target has
    the non-blocking calls to wake it and to look at the queue afterwards."""
    pending = getattr(machine, "pending", None)
    if not pending or machine.closed or not _can(machine.target, "get_nowait"):
        return None
    gets = [p for p in pending if p.kind != "put"]
    puts = [p for p in pending if p.kind == "put"]
    if gets and not machine.items and machine.target.capabilities.put_nowait:
        return gets[0]
    if puts and machine.full() and machine.policy == "block":
        return puts[0]
    return None


def _parse(label: str) -> dict[str, str]:
    """``"a:1 b:2"`` -> ``{"a": "1", "b": "2"}``."""
    return dict(part.split(":", 1) for part in label.split())


def _sequence(item: Item) -> str:
    sequence = getattr(item.obj, "sequence", None)
    return "-" if sequence is None else str(sequence)


class QueueMachine(FuzzMachine):
    """Random put/get/close/cancel sequences on one queue, checked against a deque model."""

    component = COMPONENT
    part = "queue"
    properties = (*EXPECTED, "emitter_failure_visible", "unexpected_error")

    # -- setup ---------------------------------------------------------------------------

    @initialize(data=st.data(), max_size=st.integers(1, 6),
                mode=st.sampled_from(["record", "raising"]))
    def setup(self, data: st.DataObject, max_size: int, mode: str) -> None:
        mode = self.emitter_mode(mode)
        caps = self.target.capabilities
        self.policy = data.draw(st.sampled_from(sorted(caps.overflow_policies)), label="policy")
        self.max_size = max_size
        self.items: deque[Item] = deque()
        self.closed = False
        self.pending: list[Pending] = []
        self.completions: list[Pending] = []
        self.counter = 0
        self.level_offset = 0
        semantics = getattr(self.target, "semantics", None)
        self.none_is_end = semantics is not None and \
            semantics.value("queue.none_item") == "end_marker"
        # what a put on a closed queue may do: what the target declares, else either answer
        self.closed_put = _CLOSED_PUT.get(
            semantics.value("queue.closed_put") if semantics is not None else None,
            frozenset({"raised:closed", "ok:False"}))
        emitter = self.emitter(mode)

        async def make() -> Any:  # on the machine's loop: some libraries bind it when made
            return self.target.make_queue(max_size, overflow=self.policy,
                                          event_emitter=emitter)

        self.queue = self.run(make())
        monitor = getattr(self.queue, "monitor", None)
        self.has_monitor = monitor is not None
        self.high = _mark(monitor, "high_water_mark", DEFAULT_MARKS[0])
        self.low = _mark(monitor, "low_water_mark", DEFAULT_MARKS[1])
        self.throttle_seen = runtime.throttle_state(self.queue, [])
        self.stats_seen = runtime.queue_stats(self.queue)
        self.begin(log=False)
        self.preamble = [
            "events = []",
            *self.emitter_code(mode),
            f"q = {self.queue_code(max_size, self.policy)}",
        ]

    def queue_code(self, max_size: int, policy: str) -> str:
        module = getattr(self.target, "module", None)
        cls = getattr(module, "ChunkQueue", None)
        takes_overflow = cls is not None and "overflow" in inspect.signature(cls).parameters
        if policy == "block":
            extra = ""
        elif takes_overflow:
            extra = f", overflow={policy!r}"
        else:
            extra = ", drop_on_overflow=True"
        return f"sf.ChunkQueue({max_size}{extra}, event_emitter=emit)"

    # -- helpers -----------------------------------------------------------------------

    def new_item(self, spec: tuple[str, Any]) -> Item:
        self.counter += 1
        name = f"i{self.counter}"
        kind, value = spec
        has = getattr(self.target, "has", None)
        if kind == "chunk" and callable(has) and not has("chunk"):
            # a queue-only library: the harness's chunk record would be ours, not its, and a
            # reproduction must not import the harness; a plain value stands for the chunk
            sequence, frames = value
            obj = f"chunk {sequence}/{frames}"
            code = repr(obj)
        elif kind == "chunk":
            sequence, frames = value
            obj = self.target.make_chunk(runtime.pattern(frames * 2, sequence),
                                         sample_rate=16000, channels=1, sequence=sequence)
            code = (f"sf.AudioChunk(data=pattern({frames * 2}, {sequence}), sample_rate=16000, "
                    f"channels=1, format=sf.AudioFormat('pcm_16'), sequence={sequence})")
        else:
            obj = value
            if obj is None and self.none_is_end:
                obj = 0  # None is the target's declared end-of-stream marker, not an item
            code = repr(obj)
        self.log.code(f"{name} = {code}")
        return Item(obj, runtime.label_value(obj), name)

    def full(self) -> bool:
        return len(self.items) >= self.max_size

    def put_allowed(self, item: Item, mode: str) -> set[str]:
        """Labels the contract allows for a put now (``mode``: nowait, block, timeout)."""
        allowed: set[str] = {"raised:refused"} if item.obj is None else set()
        if self.closed:
            return allowed | self.closed_put
        if not self.full():
            return allowed | QUEUED
        if self.policy == "block":
            return allowed | ({"pending"} if mode == "block" else {"raised:full"})
        if self.policy == "drop_oldest":
            return allowed | QUEUED
        if self.policy == "drop_newest":
            return allowed | {"ok:False"}
        return allowed | {"raised:full"}

    def put_property(self, got: str, mode: str) -> str:
        if got == "pending":
            return "put_timeout" if mode == "timeout" else "no_hang"
        if got in QUEUED and self.full() and not self.closed:
            return "bounds"
        return "outcome"

    def situation(self) -> str:
        if self.closed:
            return "closed queue"
        return "full queue" if self.full() else "queue with room"

    def apply_put(self, item: Item, got: str) -> None:
        if got in QUEUED:
            if self.full() and self.policy == "drop_oldest":
                self.step_dropped.append(self.items.popleft())
                self.step_drops += 1
                self.step_policy_drops += 1
            self.items.append(item)
            self.step_accepted += 1
            self.step_peak = max(self.step_peak, len(self.items))
        elif got == "ok:False":
            self.step_drops += 1
            self.step_dropped.append(item)
            if not self.closed:
                self.step_policy_drops += 1

    def get_allowed(self, kind: str) -> set[str]:
        if self.items:
            return {self.items[0].label}
        if self.closed:
            return {"get": {"ok:None"}, "anext": {"raised:stop"},
                    "get_nowait": {"ok:None", "raised:empty", "raised:closed"}}[kind]
        return {"raised:empty"} if kind == "get_nowait" else {"pending"}

    def get_property(self, got: str) -> str:
        if got == "pending":
            return "no_hang"
        if self.items:
            if got in ("raised:stop", "raised:empty", "raised:closed") or (
                got == "ok:None" and self.items[0].label != "ok:None"
            ):
                return "no_loss"
            return "fifo" if got.startswith("ok:") else "outcome"
        if self.closed:
            return "end_of_stream"
        return "fifo" if got.startswith("ok:") else "outcome"

    def apply_get(self, got: str) -> None:
        if self.items and got == self.items[0].label:
            self.items.popleft()

    def begin(self, *, log: bool = True) -> None:
        """Start a step: event counts and the checks below are per step."""
        self.mark = len(self.events)
        self.step_drops = 0
        self.step_policy_drops = 0
        self.step_dropped: list[Item] = []
        self.step_accepted = 0
        self.step_peak = 0
        self.step_blocked = 0
        if log:
            self.log.code("mark = len(events)")

    def kinds(self, exc: BaseException | None, call: str) -> dict[str, str]:
        """How the label of ``exc`` (raised by a ``call``: put or get) is corrected by the
        target's declared errors (``runtime.relabel``); empty when its name-based label is
        already the declared kind, or the target declares nothing for it."""
        if exc is None or isinstance(exc, asyncio.CancelledError):
            return {}
        kind = error_kind(self.target, exc, call=call)
        named = runtime.label_error(exc)
        if kind in ("full", "empty", "closed") and named != f"raised:{kind}":
            return {named: f"raised:{kind}"}
        return {}

    @staticmethod
    def labelled(expr: str, kinds: dict[str, str]) -> str:
        """The snippet expression that gives the label the machine judged."""
        return f"relabel({expr}, {kinds!r})" if kinds else expr

    def call_nowait(self, fn: Any, call: str) -> tuple[str, dict[str, str]]:
        """Call the non-blocking ``fn()`` from a task on the machine's loop (the snippet's
        ``main()`` runs it the same way); its label and the relabelling it needed."""
        async def inside() -> Any:
            return fn()

        try:
            value = self.run(inside())
        except Exception as exc:
            kinds = self.kinds(exc, call)
            return runtime.relabel(runtime.label_error(exc), kinds), kinds
        return runtime.label_value(value), {}

    def outcome(self, pending: Pending) -> tuple[str, dict[str, str]]:
        """A blocking call's label (``runtime.status``), corrected by the declared errors."""
        got = self.status(pending.task)
        task = pending.task
        exc = task.exception() if task.done() and not task.cancelled() else None
        kinds = self.kinds(exc, "put" if pending.kind == "put" else "get")
        return runtime.relabel(got, kinds), kinds

    def track(self, coro: Any, pending: Pending) -> Any:
        async def tracked() -> Any:
            try:
                return await coro
            finally:
                self.completions.append(pending)
        return tracked()

    # -- blocking calls ------------------------------------------------------------------

    def blocking(self, kind: str, call: Any, code: str, item: Item | None,
                 allowed: set[str], prop_of: Any, op: str, apply: Any,
                 extra_s: float = 0.0) -> None:
        """Run a blocking call as a task; it may stay pending only if ``allowed`` says so."""
        self.counter += 1
        name = f"t{self.counter}"
        pending = Pending(task=None, kind=kind, name=name, item=item)  # type: ignore[arg-type]
        pending.task = self.spawn(self.track(call, pending))
        self.log.code(f"{name} = spawn({code})")
        self.log.code("await settle()")
        self.settle()
        got, kinds = self.outcome(pending)
        if got == "pending" and "pending" not in allowed:
            self.wait_tasks([pending.task], extra_s)
            got, kinds = self.outcome(pending)
        wait = "HANG_S" if "pending" not in allowed else "0"
        if extra_s:
            wait = f"{extra_s!r} + HANG_S"
        self.completions = [p for p in self.completions if p is not pending]
        self.expect((COMPONENT, prop_of(got), op),
                    self.labelled(f"await status({name}, {wait})", kinds), got, allowed,
                    EXPECTED[prop_of(got)])
        if got == "pending":
            self.pending.append(pending)
            if kind == "put":
                self.step_blocked += 1
        else:
            apply(got)

    def absorb(self, op: str) -> None:
        """Fold the blocked calls that ended into the model, in the order they ended."""
        done, self.completions = self.completions, []
        for pending in done:
            if pending not in self.pending:
                continue
            self.pending.remove(pending)
            got, kinds = self.outcome(pending)
            if got == "cancelled":
                continue
            if pending.kind == "put":
                assert pending.item is not None
                allowed = self.put_allowed(pending.item, "block") - {"pending"}
                prop = self.put_property(got, "block")
                apply = self._apply_put_of(pending.item)
            else:
                allowed = self.get_allowed(pending.kind) - {"pending"}
                prop = self.get_property(got)
                apply = self.apply_get
            self.expect((COMPONENT, prop, self.blocked_op(op, pending, prop)),
                        self.labelled(f"await status({pending.name}, HANG_S)", kinds), got,
                        allowed, EXPECTED[prop])
            apply(got)

    @staticmethod
    def blocked_op(op: str, pending: Pending, prop: str) -> str:
        """The operation a blocked call's violation is filed under: for a hang, what should
        have woken it and whom; otherwise the blocked call itself."""
        method = {"put": "put", "get": "get", "anext": "__anext__"}[pending.kind]
        if prop != "no_hang":
            return method if pending.kind != "put" else f"{method} (blocked)"
        role = "producer" if pending.kind == "put" else "consumer"
        return f"{op.split(' ')[0]} (blocked {role})"

    def _apply_put_of(self, item: Item) -> Any:
        return lambda got: self.apply_put(item, got)

    def must_wake(self) -> list[Pending]:
        if self.closed:
            return list(self.pending)
        puts = [p for p in self.pending if p.kind == "put"]
        gets = [p for p in self.pending if p.kind != "put"]
        out = []
        if puts and not self.full():
            out.append(puts[0])
        if gets and self.items:
            out.append(gets[0])
        return out

    def finish(self, op: str) -> None:
        """End a step: settle, absorb, detect hangs, check level and telemetry."""
        self.settle()
        self.absorb(op)
        stuck = self.must_wake()
        if stuck:
            self.wait_tasks([p.task for p in stuck])
            self.absorb(op)
            stuck = self.must_wake()
        if stuck:
            pending = stuck[0]
            allowed = (self.put_allowed(pending.item, "block") if pending.kind == "put"
                       else self.get_allowed(pending.kind)) - {"pending"}
            self.expect((COMPONENT, "no_hang", self.blocked_op(op, pending, "no_hang")),
                        f"await status({pending.name}, HANG_S)", "pending", allowed,
                        EXPECTED["no_hang"])
        self.verify_level(op)
        self.verify_events(op)
        self.verify_throttle()
        self.verify_stats()
        self.verify_emitter_failure(self.queue, "q")

    def verify_level(self, op: str) -> None:
        """``len(queue)`` against the model; a discrepancy is filed under the step that
        introduced it, from a consistent state (carried along, it is not reported again)."""
        size = len(self.queue)
        consistent = self.level_offset == 0
        self.level_offset = size - len(self.items)
        if consistent and self.level_offset:
            self.soft_expect((COMPONENT, "level", op), "f'len:{len(q)}'", f"len:{size}",
                             {f"len:{len(self.items)}"}, EXPECTED["level"])

    def verify_events(self, op: str) -> None:
        new = self.events[self.mark:]
        drops = runtime.count(new, "stream.chunk_dropped")
        if drops != self.step_drops:
            self.soft_expect(
                (COMPONENT, "no_silent_drop", op),
                "f\"drop events:{count(events[mark:], 'stream.chunk_dropped')}\"",
                f"drop events:{drops}", {f"drop events:{self.step_drops}"},
                EXPECTED["no_silent_drop"])
        if drops == self.step_drops:
            self.verify_payloads(new)
        blocked = runtime.count(new, "stream.producer_blocked")
        if blocked < self.step_blocked:
            self.soft_expect(
                (COMPONENT, "backpressure_visible", op),
                "'visible' if count(events[mark:], 'stream.producer_blocked') >= "
                f"{self.step_blocked} else 'not visible'",
                "not visible", {"visible"}, EXPECTED["backpressure_visible"])

    def verify_payloads(self, new: list[tuple[str, dict[str, Any]]]) -> None:
        """Drop and throttle events of this step carry their keys; drops name the chunk."""
        got = runtime.payload_gaps(new, PAYLOAD_KEYS)
        if got != "complete":
            self.soft_expect((COMPONENT, "event_payload", got.split(" lacks")[0]),
                             f"payload_gaps(events[mark:], {PAYLOAD_KEYS!r})", got,
                             {"complete"}, EXPECTED["event_payload"])
        if not self.step_dropped:
            return
        got = runtime.dropped_sequences(new)
        expected = "dropped:" + ",".join(_sequence(item) for item in self.step_dropped)
        if got != expected:
            self.soft_expect((COMPONENT, "event_payload", "stream.chunk_dropped"),
                             "dropped_sequences(events[mark:])", got, {expected},
                             EXPECTED["event_payload"])

    def verify_throttle(self) -> None:
        """Throttle state against hysteresis of the model's fill, from the state the queue
        showed after the previous step (so a stale state is reported once, where it arose)."""
        if not self.has_monitor:
            return  # no monitor: nothing declares throttling (filed nothing, judged nothing)
        fill = len(self.items) / self.max_size * 100

        def after(before: str) -> str:
            if before in ("n/a", "repeated"):
                return before
            return "on" if fill >= self.high else "off" if fill <= self.low else before

        seen = _parse(self.throttle_seen)
        expected = f"monitor:{after(seen['monitor'])} events:{after(seen['events'])}"
        got = runtime.throttle_state(self.queue, self.events)
        self.throttle_seen = got
        if got == expected:
            return
        want, have = _parse(expected), _parse(got)
        if have["events"] == "repeated":
            op = "throttle events (not alternating)"
        else:
            source = "monitor" if have["monitor"] != want["monitor"] else "events"
            op = ("queue drained (throttling not ended)" if want[source] == "off"
                  else "queue filled (throttling not started)")
        self.soft_expect((COMPONENT, "throttle", op), "throttle_state(q, events)", got,
                         {expected}, EXPECTED["throttle"])

    def verify_stats(self) -> None:
        """The monitor's counters moved by what this step did (from what they showed); a
        defect is filed under the counter that is wrong."""
        got = runtime.queue_stats(self.queue)
        seen, have = _parse(self.stats_seen), _parse(got)
        self.stats_seen = got

        def moved(key: str, by: int) -> str:
            return seen[key] if seen[key] == "-" or not seen[key].isdigit() \
                else str(int(seen[key]) + by)

        want = {"total_items": moved("total_items", self.step_accepted),
                "dropped_items": moved("dropped_items", self.step_policy_drops),
                "max_queue_size": seen["max_queue_size"]}
        if seen["max_queue_size"].isdigit():
            want["max_queue_size"] = str(max(int(seen["max_queue_size"]), self.step_peak))
        if self.step_drops != self.step_policy_drops:
            want["dropped_items"] = have["dropped_items"]  # closed-queue drops: either way
        expected = " ".join(f"{key}:{value}" for key, value in want.items())
        if got != expected:
            wrong = next(key for key in want if want[key] != have[key])
            self.soft_expect((COMPONENT, "stats", f"monitor.stats.{wrong}"), "queue_stats(q)",
                             got, {expected}, EXPECTED["stats"])

    def verify_eviction(self, was_full: bool, got: str) -> None:
        """A drop_oldest put that queued on a full queue evicted exactly one item (else the
        model no longer describes the queue: the example ends)."""
        if not (was_full and self.policy == "drop_oldest" and got in QUEUED) or \
                self.level_offset:
            return
        size = len(self.queue)
        if size != self.max_size:
            self.expect((COMPONENT, "minimal_trim", "put (full drop_oldest queue)"),
                        "f'len:{len(q)}'", f"len:{size}", {f"len:{self.max_size}"},
                        EXPECTED["minimal_trim"])

    # -- rules -------------------------------------------------------------------------

    @precondition(lambda self: self.target.capabilities.put_nowait)
    @rule(spec=ITEMS)
    @guarded
    def put_nowait(self, spec: tuple[str, Any]) -> None:
        self.begin()
        item = self.new_item(spec)
        allowed = self.put_allowed(item, "nowait")
        op = f"put_nowait ({self.situation()})"
        was_full = self.full() and not self.closed
        got, kinds = self.call_nowait(lambda: self.queue.put_nowait(item.obj), "put")
        prop = self.put_property(got, "nowait")
        self.expect((COMPONENT, prop, op),
                    self.labelled(f"call_sync(lambda: q.put_nowait({item.name}))", kinds),
                    got, allowed, EXPECTED[prop])
        self.apply_put(item, got)
        self.verify_eviction(was_full, got)
        self.finish(op)

    def _put(self, spec: tuple[str, Any]) -> bool:
        """One blocking put; False (nothing done) when it would exceed MAX_PENDING waiters."""
        will_wait = not self.closed and self.full() and self.policy == "block"
        if will_wait and sum(p.kind == "put" for p in self.pending) >= MAX_PENDING:
            return False
        self.begin()
        item = self.new_item(spec)
        op = f"put ({self.situation()})"
        was_full = self.full() and not self.closed
        outcome: list[str] = []

        def apply(got: str) -> None:
            outcome.append(got)
            self.apply_put(item, got)

        self.blocking("put", self.queue.put(item.obj), f"q.put({item.name})", item,
                      self.put_allowed(item, "block"), lambda got: self.put_property(got, "block"),
                      op, apply)
        if outcome:
            self.verify_eviction(was_full, outcome[0])
        self.finish(op)
        return True

    @rule(spec=ITEMS)
    @guarded
    def put(self, spec: tuple[str, Any]) -> None:
        self._put(spec)

    @rule(specs=st.lists(ITEMS, min_size=2, max_size=10))
    @guarded
    def burst(self, specs: list[tuple[str, Any]]) -> None:
        """Several puts back to back (a burst, possibly far above capacity)."""
        for spec in specs:
            if not self._put(spec):
                return

    @precondition(lambda self: self.target.capabilities.put_timeout)
    @rule(spec=ITEMS, timeout=st.sampled_from(TIMEOUTS))
    @guarded
    def put_with_timeout(self, spec: tuple[str, Any], timeout: float) -> None:
        self.begin()
        item = self.new_item(spec)
        op = f"put(timeout) ({self.situation()})"
        self.blocking("put", self.queue.put(item.obj, timeout=timeout),
                      f"q.put({item.name}, timeout={timeout!r})", item,
                      self.put_allowed(item, "timeout"),
                      lambda got: self.put_property(got, "timeout"), op,
                      lambda got: self.apply_put(item, got), extra_s=timeout)
        self.finish(op)

    @precondition(lambda self: _can(self.target, "get_nowait"))
    @rule()
    @guarded
    def get_nowait(self) -> None:
        self.begin()
        op = "get_nowait"
        allowed = self.get_allowed("get_nowait")
        got, kinds = self.call_nowait(self.queue.get_nowait, "get")
        prop = self.get_property(got)
        self.expect((COMPONENT, prop, op), self.labelled("call_sync(q.get_nowait)", kinds),
                    got, allowed, EXPECTED[prop])
        self.apply_get(got)
        self.finish(op)

    def _get(self, kind: str, method: str) -> None:
        if not self.items and not self.closed and sum(
                p.kind != "put" for p in self.pending) >= MAX_PENDING:
            return
        self.begin()
        op = method
        call = self.queue.get() if kind == "get" else self.queue.__anext__()
        self.blocking(kind, call, "q.get()" if kind == "get" else "q.__anext__()",
                      None, self.get_allowed(kind), self.get_property, op, self.apply_get)
        self.finish(op)

    @rule()
    @guarded
    def get(self) -> None:
        self._get("get", "get")

    @precondition(lambda self: _can(self.target, "iterate"))
    @rule()
    @guarded
    def anext(self) -> None:
        self._get("anext", "__anext__")

    @precondition(lambda self: _can(self.target, "close"))
    @rule()
    @guarded
    def close(self) -> None:
        self.begin()
        op = "close"
        try:
            result = self.queue.close()
        except Exception as exc:  # logged as a step, so a reproduction shows the call
            self.expect((COMPONENT, "unexpected_error", op), "call_sync(q.close)",
                        runtime.label_error(exc), {"ok:None"},
                        "every call either does its job or raises a documented error")
            raise
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            got = self.run(runtime.run(result, self.hang_s))
            self.log.code("out = q.close()")
            expr = "(await run(out)) if asyncio.iscoroutine(out) else 'ok:None'"
        else:
            got = runtime.label_value(result)
            expr = "call_sync(q.close)"
        prop = "no_hang" if got == "pending" else "outcome"
        self.expect((COMPONENT, prop, op), expr, got, {"ok:None"}, EXPECTED[prop])
        closes = runtime.count(self.events, "stream.queue_closed")
        if closes > 1:  # a queue closes once: a second close() reports nothing new
            self.soft_expect((COMPONENT, "event_truth", "close (again)"),
                             "f\"queue_closed events:{count(events, 'stream.queue_closed')}\"",
                             f"queue_closed events:{closes}", {"queue_closed events:1"},
                             "a queue closes once: close() again emits no second "
                             "stream.queue_closed and changes nothing")
        self.closed = True
        self.finish(op)

    def cancel_woken(self, spec: tuple[str, Any]) -> None:
        """Wake the first blocked call (``put_nowait`` for a waiting get, ``get_nowait``
        for a waiting put) and cancel it in the same event-loop iteration, before it
        resumes: a cancellation that arrives as the call is being satisfied, as a timeout
        does. It must complete or end cancelled having taken or queued nothing."""
        pending = _woken(self)
        assert pending is not None
        self.begin()
        op = f"cancel (blocked {pending.kind})"
        if pending.kind == "put":
            head = self.items[0]
            waker, call, code = "get", self.queue.get_nowait, "q.get_nowait()"
            allowed, prop, waker_op = {head.label}, self.get_property, "get_nowait"
        else:
            item = self.new_item(spec)
            waker, code = "put", f"q.put_nowait({item.name})"
            waker_op = f"put_nowait ({self.situation()})"
            call = functools.partial(self.queue.put_nowait, item.obj)
            allowed = self.put_allowed(item, "nowait")
            prop = lambda got: self.put_property(got, "nowait")  # noqa: E731

        async def race() -> tuple[str, dict[str, str]]:
            try:  # the wake-up and the cancellation in one step: nothing runs between
                value = call()
            except Exception as exc:
                kinds = self.kinds(exc, waker)
                label = runtime.relabel(runtime.label_error(exc), kinds)
            else:
                kinds, label = {}, runtime.label_value(value)
            pending.task.cancel()
            return label, kinds

        woke, kinds = self.run(race())
        self.expect((COMPONENT, prop(woke), waker_op),
                    self.labelled(f"call_sync(lambda: {code})", kinds), woke, allowed,
                    EXPECTED[prop(woke)])
        self.log.code(f"{pending.name}.cancel()")
        self.log.code("await settle()")
        self.settle()
        self.completions = [p for p in self.completions if p is not pending]
        self.pending.remove(pending)
        got, got_kinds = self.outcome(pending)
        if pending.kind == "put":
            self.apply_get(woke)
            assert pending.item is not None
            done = self.put_allowed(pending.item, "block") - {"pending"}
            self.expect((COMPONENT, "outcome", op), self.labelled(
                f"await status({pending.name})", got_kinds), got, done | {"cancelled"},
                CANCELLED)
            if got != "cancelled":
                self.apply_put(pending.item, got)
            self.absorb(op)  # the room may have gone to the next waiting put instead
            if got == "cancelled" and self.level_offset == 0:  # len() has been right: it
                self.expect((COMPONENT, "outcome", op), "f'len:{len(q)}'",  # tells
                            f"len:{len(self.queue)}", {f"len:{len(self.items)}"}, CANCELLED)
        else:
            self.apply_put(item, woke)
            done = self.get_allowed(pending.kind) - {"pending"}
            self.expect((COMPONENT, "outcome", op), self.labelled(
                f"await status({pending.name})", got_kinds), got, done | {"cancelled"},
                CANCELLED)
            if got != "cancelled":
                self.apply_get(got)
            self.absorb(op)  # the item may have gone to the next waiting get instead
            if got == "cancelled" and any(i is item for i in self.items):
                # nobody took the item the cancelled get was woken for: it is still there
                still, still_kinds = self.call_nowait(self.queue.get_nowait, "get")
                self.expect((COMPONENT, "no_loss", op),
                            self.labelled("call_sync(q.get_nowait)", still_kinds), still,
                            {item.label}, CANCELLED)
                self.apply_get(still)
        self.finish(op)

    @precondition(lambda self: bool(getattr(self, "pending", None)))
    @rule(data=st.data())
    @guarded
    def cancel(self, data: st.DataObject) -> None:
        """Cancel a blocked call: one nothing has woken, or (drawn) the first one just as
        another call wakes it (:meth:`cancel_woken`)."""
        if _woken(self) is not None and data.draw(st.booleans(), label="as woken"):
            self.cancel_woken(data.draw(ITEMS, label="item"))
            return
        index = data.draw(st.integers(0, len(self.pending) - 1), label="which")
        pending = self.pending[index]
        self.begin()
        op = f"cancel (blocked {pending.kind})"
        pending.task.cancel()
        self.log.code(f"{pending.name}.cancel()")
        self.log.code("await settle()")
        self.settle()
        self.completions = [p for p in self.completions if p is not pending]
        self.pending.remove(pending)
        got = self.status(pending.task)
        self.expect((COMPONENT, "outcome", op), f"await status({pending.name})", got,
                    {"cancelled"}, "a cancelled blocked call ends cancelled, having "
                    "queued or taken nothing")
        self.finish(op)
