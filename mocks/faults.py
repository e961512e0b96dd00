"""Fault injectors: scheduled, seeded faults for telemetry, producers and consumers.

A :class:`FaultWindow` says when a fault may fire (``start_ms`` after a start time, for
``duration_ms``) and how often inside it (``probability``, drawn from a seeded generator).
Emitters are synchronous callables ``(name, payload) -> None``, so a slow emitter blocks
the thread, as a slow real one would.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from mocks import _checks
from mocks._clock import Clock, Sleep, sleep_until
from mocks.producers import FullProbe, OutcomeOf, ProducerReport, default_outcome, probe_full
from mocks.trace import OUTCOMES, Trace

__all__ = [
    "FaultWindow",
    "RaisingEmitter",
    "SlowEmitter",
    "burst",
    "resume",
    "stall",
    "stall_during",
]

EventEmitter = Callable[[str, dict[str, Any]], None]


class _Random(Protocol):
    def random(self) -> float: ...


@dataclass(frozen=True)
class FaultWindow:
    """Faults may fire from ``start_ms`` for ``duration_ms`` (``math.inf``: for ever), each
    time with ``probability``.

    :raises ValueError: negative or NaN start/duration, probability outside [0, 1].
    """

    start_ms: float
    duration_ms: float
    probability: float = 1.0

    def __post_init__(self) -> None:
        _checks.non_negative("start_ms", self.start_ms)
        _checks.non_negative("duration_ms", self.duration_ms, allow_inf=True)
        _checks.probability("probability", self.probability)

    @classmethod
    def always(cls, probability: float = 1.0) -> FaultWindow:
        """A window open from the start for ever."""
        return cls(0.0, math.inf, probability)

    def contains(self, now_ns: int, start_ns: int) -> bool:
        """``now_ns`` falls inside the window (no random draw)."""
        elapsed_ms = (now_ns - start_ns) / 1e6
        return self.start_ms <= elapsed_ms < self.start_ms + self.duration_ms

    def active(self, now_ns: int, start_ns: int, rng: _Random) -> bool:
        """The fault fires at ``now_ns``: inside the window and a draw below ``probability``.

        ``rng`` (a ``numpy.random.Generator`` or ``random.Random``) is drawn from only
        inside the window and only when 0 < probability < 1, so the sequence of decisions
        is reproducible for a seed.
        """
        if not self.contains(now_ns, start_ns):
            return False
        if self.probability >= 1.0:
            return True
        if self.probability <= 0.0:
            return False
        return bool(rng.random() < self.probability)


class _Injector:
    """Shared by the emitters: when to fire, from what seed, and the counters."""

    def __init__(self, probability: float, seed: int, window: FaultWindow | None,
                 start_ns: int | None, events: Collection[str] | None, clock: Clock) -> None:
        probability = _checks.probability("probability", probability)
        if window is not None and probability != 1.0:
            raise ValueError("probability: give it on the FaultWindow when a window is set")
        self.window = window if window is not None else FaultWindow.always(probability)
        self.seed = _checks.integer("seed", seed, minimum=0)
        self.events = frozenset(events) if events is not None else None
        self._clock = clock
        self.start_ns = clock() if start_ns is None else start_ns
        self._rng = np.random.default_rng(self.seed)
        self.calls = 0
        self.injected = 0

    def fires(self, name: str) -> bool:
        self.calls += 1
        if self.events is not None and name not in self.events:
            return False
        if self.window.active(self._clock(), self.start_ns, self._rng):
            self.injected += 1
            return True
        return False


class RaisingEmitter:
    """An emitter that raises ``exc_type`` (RuntimeError) when a fault fires, otherwise
    forwards to ``inner`` (if any).

    A fault fires with ``probability`` on every call, or, when ``window`` is given, as the
    window says (give the probability on the window then). ``events`` restricts faults to
    those event names. ``calls`` and ``raised`` count what happened.

    :raises ValueError: probability outside [0, 1], or given besides a window; seed < 0.
    """

    def __init__(self, inner: EventEmitter | None = None, probability: float = 1.0,
                 seed: int = 0, *, window: FaultWindow | None = None,
                 start_ns: int | None = None, events: Collection[str] | None = None,
                 exc_type: type[Exception] = RuntimeError,
                 clock: Clock = time.perf_counter_ns) -> None:
        self.inner = inner
        self.exc_type = exc_type
        self._injector = _Injector(probability, seed, window, start_ns, events, clock)

    @property
    def calls(self) -> int:
        return self._injector.calls

    @property
    def raised(self) -> int:
        return self._injector.injected

    def __call__(self, name: str, payload: dict[str, Any]) -> None:
        if self._injector.fires(name):
            raise self.exc_type(f"injected emitter fault on {name}")
        if self.inner is not None:
            self.inner(name, payload)


class SlowEmitter:
    """An emitter that blocks the calling thread for ``delay_ms`` when a fault fires (every
    call by default), then forwards to ``inner`` (if any).

    ``probability``, ``window`` and ``events`` work as for :class:`RaisingEmitter`;
    ``delayed`` counts the blocked calls. ``block`` is ``time.sleep`` unless replaced.

    :raises ValueError: delay_ms negative or NaN; probability outside [0, 1]; seed < 0.
    """

    def __init__(self, inner: EventEmitter | None = None, delay_ms: float = 10.0, *,
                 probability: float = 1.0, seed: int = 0, window: FaultWindow | None = None,
                 start_ns: int | None = None, events: Collection[str] | None = None,
                 clock: Clock = time.perf_counter_ns,
                 block: Callable[[float], object] = time.sleep) -> None:
        self.inner = inner
        self.delay_ms = _checks.non_negative("delay_ms", delay_ms)
        self._block = block
        self._injector = _Injector(probability, seed, window, start_ns, events, clock)

    @property
    def calls(self) -> int:
        return self._injector.calls

    @property
    def delayed(self) -> int:
        return self._injector.injected

    def __call__(self, name: str, payload: dict[str, Any]) -> None:
        if self._injector.fires(name):
            self._block(self.delay_ms / 1000.0)
        if self.inner is not None:
            self.inner(name, payload)


async def burst(*, producer: int, count: int, make_chunk: Callable[[int, int], Any],
                put: Callable[[Any], Awaitable[Any]], trace: Trace, first_seq: int = 0,
                concurrent: bool = False, outcome_of: OutcomeOf | None = None,
                full: FullProbe | None = None,
                clock: Clock = time.perf_counter_ns) -> ProducerReport:
    """Put ``count`` chunks at once, all intended at the same instant (now).

    Sequentially (each put right after the previous one ends) by default; with
    ``concurrent`` every put runs in its own task at the same time, so that up to
    ``count`` producers block on a full queue together. Each attempt is recorded in
    ``trace`` and classified as by :func:`~mocks.producers.open_loop_producer`, with
    ``full`` (:data:`~mocks.producers.FullProbe`) asked right before each put.

    :raises ValueError: producer < 0, count < 0, first_seq < 0.
    """
    producer = _checks.integer("producer", producer, minimum=0)
    count = _checks.integer("count", count, minimum=0)
    first_seq = _checks.integer("first_seq", first_seq, minimum=0)
    classify = outcome_of or default_outcome
    chunks = [make_chunk(producer, first_seq + i) for i in range(count)]
    intended = clock()

    async def send(seq: int, chunk: Any) -> tuple[str, int, int, str | None]:
        began = clock()
        was_full = probe_full(full)
        exc: Exception | None = None
        result: Any = None
        try:
            result = await put(chunk)
        except asyncio.CancelledError:
            trace.sent(producer, seq, intended, began, clock(), "cancelled", was_full)
            raise
        except Exception as error:
            exc = error
        ended = clock()
        outcome = classify(exc, result)
        trace.sent(producer, seq, intended, began, ended, outcome, was_full)
        return outcome, began, ended, None if exc is None else repr(exc)

    if concurrent:
        results = await asyncio.gather(
            *(send(first_seq + i, chunk) for i, chunk in enumerate(chunks))
        )
    else:
        results = [await send(first_seq + i, chunk) for i, chunk in enumerate(chunks)]

    tally = dict.fromkeys(OUTCOMES, 0)
    for outcome, _, _, _ in results:
        tally[outcome] += 1
    errors = [error for _, _, _, error in results if error is not None]
    max_lag = 0
    if not concurrent:
        prev_end = intended
        for _, began, ended, _ in results:
            max_lag = max(max_lag, began - prev_end)
            prev_end = ended
    max_late = max((began - intended for _, began, _, _ in results), default=0)
    return ProducerReport(
        producer=producer, count=count, sent=count, queued=tally["queued"],
        dropped=tally["dropped"], timeouts=tally["timeout"], closed=tally["closed"],
        rejected=tally["rejected"], errors=tally["error"],
        max_schedule_lag_ms=max_lag / 1e6, max_late_ms=max_late / 1e6,
        stopped_early=False, first_error=errors[0] if errors else None,
    )


def stall(gate: asyncio.Event) -> None:
    """Stall a :func:`~mocks.consumers.stalled_consumer` (before its next get)."""
    gate.clear()


def resume(gate: asyncio.Event) -> None:
    """Let a stalled :func:`~mocks.consumers.stalled_consumer` run again."""
    gate.set()


async def stall_during(gate: asyncio.Event, window: FaultWindow, *, start_ns: int,
                       seed: int = 0, clock: Clock = time.perf_counter_ns,
                       sleep: Sleep = asyncio.sleep) -> bool:
    """Stall the consumer gated by ``gate`` for ``window`` (times from ``start_ns``), then
    resume it. With probability < 1 one seeded draw decides whether the stall happens at
    all. Returns whether it did. A window that never ends leaves the consumer stalled.
    """
    rng = np.random.default_rng(_checks.integer("seed", seed, minimum=0))
    p = window.probability
    if not (p >= 1.0 or (p > 0.0 and rng.random() < p)):
        return False
    begin = start_ns + round(window.start_ms * 1_000_000)
    await sleep_until(begin, clock=clock, sleep=sleep)
    stall(gate)
    if math.isinf(window.duration_ms):
        return True
    await sleep_until(begin + round(window.duration_ms * 1_000_000), clock=clock, sleep=sleep)
    resume(gate)
    return True
