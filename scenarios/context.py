"""What a scenario is handed: the :class:`ScenarioContext` protocol.

The runner (``harness/runner/context.py``) implements this protocol; scenarios only see the
protocol, so they never import the harness (dependency direction: harness -> scenarios).
A scenario reaches the implementation under test only through ``ctx.target``.

A scenario's duties are small: build primitives through ``ctx.target`` with
``event_emitter=ctx.trace.emitter``, drive them with mocks that record into ``ctx.trace``,
run concurrent work with ``ctx.spawn`` (so the harness can report a hang with the stack
of the await a task is stuck in), and tell the context what it knows (``watch_queue``,
``watch_buffer``, ``expect_frames``...) so the general invariants that need a bound or a
frame size can be checked. Everything else — metrics, invariants, deadline, status — is
the runner's job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["PARTS", "SLO_KEYS", "ScenarioContext", "TargetView", "has_part"]

SLO_KEYS = ("underruns", "underrun_ms", "recovery_ms")
"""Streaming SLO figures a scenario may report with :meth:`ScenarioContext.slo`."""

PARTS = ("queue", "buffer", "chunk", "duplex", "pipeline")
"""The independent parts a target may have (a queue-only library is a first-class target)."""


def has_part(target: Any, name: str) -> bool:
    """Whether ``target`` has the part or capability ``name``.

    A part (:data:`PARTS`) is asked of the target (``target.has(name)``), or looked up in
    its ``parts`` when it says which it has; a target that does not say is taken to have
    every part its capabilities do not deny. Anything else is a capability:
    ``target.capabilities.<name>`` must be true.
    """
    has = getattr(target, "has", None)
    if name in PARTS and callable(has):
        return bool(has(name))
    parts = getattr(target, "parts", None)
    if name in PARTS and parts is not None:
        return name in parts
    value = getattr(target.capabilities, name, None)
    if name in PARTS and value is None:
        return True
    return bool(value)


@runtime_checkable
class TargetView(Protocol):
    """The part of a target that scenarios use (see docs/architecture.md, "Targets")."""

    name: str
    version: str
    capabilities: Any
    closed_errors: tuple[type[BaseException], ...]
    full_errors: tuple[type[BaseException], ...]

    def make_queue(self, max_size: int = 100, *, overflow: str = "block",
                   event_emitter: Any = None) -> Any: ...

    def make_buffer(self, *, target_duration_ms: float, max_duration_ms: float,
                    sample_rate: int, channels: int, fmt: str = "pcm_16",
                    event_emitter: Any = None) -> Any: ...

    def make_chunk(self, data: bytes, *, sample_rate: int, channels: int, fmt: str = "pcm_16",
                   timestamp_ms: float = 0.0, sequence: int = 0) -> Any: ...


@runtime_checkable
class ScenarioContext(Protocol):
    """Handed to ``async def scenario(ctx)`` by the runner; one fresh context per run."""

    name: str
    """The scenario's registered name."""
    target: TargetView
    """The implementation under test. The only way a scenario reaches primitives."""
    params: Mapping[str, Any]
    """Quick or full parameters, with the user's overrides applied."""
    quick: bool
    """True when the quick parameters are in use."""
    seed: int
    """This scenario's seed (derived from the run seed; recorded for replay)."""
    rng: np.random.Generator
    """Seeded generator; all randomness of the scenario must come from it or :meth:`seed_for`."""
    trace: Any
    """The :class:`mocks.trace.Trace` that metrics and invariants are computed from."""
    deadline_ns: int
    """``time.perf_counter_ns()`` value at which the runner cuts the scenario."""

    def seed_for(self, label: str) -> int:
        """A stable sub-seed for one mock (e.g. ``"producer-3"``), derived from :attr:`seed`."""
        ...

    def remaining_s(self) -> float:
        """Seconds left before the deadline (never negative)."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str,
              may_fail: bool = False) -> asyncio.Task[Any]:
        """Run ``coro`` as a task the harness watches.

        At the deadline every watched task still running is reported (failed ``no_hang``
        invariant with the stack of the await it is stuck in) and cancelled. A watched task
        that ends with an exception makes the scenario an ``error``, unless ``may_fail``
        (fault injection: a consumer that is meant to crash).
        """
        ...

    def note(self, key: str, value: Any) -> None:
        """Record a scenario-specific metric (JSON-serialisable) under ``metrics.notes``."""
        ...

    def expect(self, name: str, passed: bool, detail: str = "", *,
               hypotheses: tuple[str, ...] = (),
               defects: Iterable[tuple[str, str, str]] = (),
               level: str = "universal", clause: str | None = None) -> None:
        """Record a scenario-specific invariant; ``detail`` is one line naming counts/ids.

        ``hypotheses``: the ones (among the scenario's) that this check bears on; a failure
        refutes only those. Default: all of the scenario's hypotheses.

        ``defects``: when it fails, the contract clauses it saw broken, each
        ``(component, operation, property)`` in the vocabulary of ``harness.defects`` (e.g.
        ``("StreamingBuffer", "add_chunk (partial frame)", "bad_input_refused")``), so that
        the finding is the same one the invariants and the fuzzer file for that defect.
        None given: the finding is filed under this check.

        ``level``: the contract level the check judges at (``universal``, ``declared``,
        ``recommended``; see ``harness.contract``). ``clause``: instead of a level, the
        clause the check judges (``"queue.throttle_events"``): DECLARED when the target
        declares it, else RECOMMENDED. A check of what only some targets promise must name
        its clause, so a target that never promised it is advised, not blamed.

        :raises ValueError: a defect that is not such a triple, an unknown property or level.
        """
        ...

    @property
    def semantics(self) -> Any:
        """What the target declares (``harness.contract.Semantics``; empty when silent)."""
        ...

    def declares(self, clause: str, value: Any = True) -> bool:
        """True when the target declares ``clause`` with ``value``."""
        ...

    def closed(self, name: str = "queue") -> None:
        """Tell the harness that the watched queue ``name`` is being closed (call it just
        before ``close()``): a task still waiting on it at the deadline, or an item put
        while it closed and never read, is then a defect of close().

        :raises ValueError: no watched queue has that name.
        """
        ...

    def skip(self, capability: str, reason: str = "") -> None:
        """Record that part of the scenario did not run because the target lacks ``capability``.

        Returns normally: the scenario decides whether to fall back or return. A scenario
        with skipped parts cannot support its hypotheses (they become ``inconclusive``).
        """
        ...

    def invalid(self, reason: str) -> None:
        """Mark the run invalid (the load generator or the machine, not the target, failed)."""
        ...

    def slo(self, **values: float | int | None) -> None:
        """Report streaming SLO figures measured by the scenario (keys: :data:`SLO_KEYS`)."""
        ...

    def measure(self, group: str, values: Mapping[str, Any]) -> None:
        """Record a group of measurements the runner does not compute itself (e.g. the
        ``capacity`` scenario's) as ``metrics.<group>``, where thresholds reach them
        (``capacity.queue_ratio``). A ``samples`` mapping inside ``values`` holds one value
        per measurement round for a metric of the same name: the gate's statistics use the
        rounds as their units. ``group`` must not be a metric the runner computes.
        """
        ...

    def watch_queue(self, queue: Any, *, max_size: int | None, name: str = "queue") -> None:
        """Sample ``len(queue)`` every few ms; check ``bounds_held`` against ``max_size``."""
        ...

    def watch_buffer(self, buffer: Any, *, max_ms: float | None, name: str = "buffer") -> None:
        """Sample the buffer level (ms) every few ms; check ``bounds_held`` against ``max_ms``."""
        ...

    def expect_frames(self, frame_bytes: int, *, series: str = "read_bytes") -> None:
        """Check ``whole_frames``: every value of trace sample ``series`` % ``frame_bytes`` == 0."""
        ...

    def sends_into_buffer(self) -> None:
        """Declare that this scenario's producers write into a buffer, where chunks lose
        their identity: the per-chunk invariants (``none_lost``, ``none_duplicated``,
        ``fifo_per_producer``) do not apply and the scenario checks bytes itself. An
        accepted write counts as delivered."""
        ...

    def bound_latency(self, p99_ms: float) -> None:
        """Check ``latency_bounded``: P99 latency from the intended send time <= ``p99_ms``."""
        ...

    def bound_memory(self, max_growth_bytes: int) -> None:
        """Check ``memory_bounded``: resident memory grows by at most ``max_growth_bytes``."""
        ...

    def expect_flat_memory(self, duration_s: float) -> None:
        """Check ``memory_trend``: over the next ``duration_s`` the target's own Python
        heap (``tracemalloc``, the harness's records excluded) shows no growth trend — the
        soak's leak verdict (``harness/soak.py``: flat, leak or inconclusive; a leak
        fails). Call it once, where the steady state to judge begins; the entry gets the
        ``soak`` object. Allocations are traced from then on, so latency figures are
        those of a traced process. Under ``run --duration`` the soak's own monitor judges
        the whole attempt instead.

        :raises ValueError: ``duration_s`` not > 0.
        :raises RuntimeError: called twice.
        """
        ...
