"""Open-loop producers (as wrk2): chunks are sent on a schedule, not when the queue allows.

Each chunk has an intended send time from a :class:`~mocks.rates.RateModel`. The producer
never sends early; when it is late (because a ``put`` blocked, or the loop was busy) it
sends at once and never skips, so latency measured from the intended time includes the
time the producer was held back (coordinated omission corrected). Every chunk due is sent
before the producer sleeps again, and it sleeps only while the next chunk is more than
``spin_ms`` away (the loop's timers are ~1 ms coarse); closer than that it yields to the
loop until the chunk is due.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from array import array
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from mocks import _checks
from mocks._clock import Clock, Sleep, sleep_until
from mocks.rates import RateModel
from mocks.trace import OUTCOMES, SEQUENCE_BASE, Trace

__all__ = [
    "FullProbe",
    "OutcomeOf",
    "ProducerReport",
    "as_async",
    "default_outcome",
    "open_loop_producer",
    "outcome_classifier",
    "probe_full",
]

OutcomeOf = Callable[[BaseException | None, Any], str]
"""``(exception raised by put or None, value put returned) -> outcome`` (see OUTCOMES)."""

FullProbe = Callable[[], bool]
"""Called just before a put: True when the queue has no room, so the put has to wait
(e.g. ``lambda: len(queue) >= max_size`` for a blocking queue; ``lambda: False`` for a
policy that never waits). Recorded per put as the trace's ``full`` column."""


def probe_full(full: FullProbe | None) -> bool | None:
    """``full()``, or None when there is no probe or it raised (the put is not judged on it)."""
    if full is None:
        return None
    try:
        return bool(full())
    except Exception:
        return None


def default_outcome(exc: BaseException | None, result: Any) -> str:
    """Classify a put using builtins only.

    No exception: ``dropped`` when put returned ``False``, else ``queued``.
    ``TimeoutError`` -> ``timeout``; ``asyncio.QueueFull`` -> ``rejected``; any other
    exception -> ``error``.
    """
    if exc is None:
        return "dropped" if result is False else "queued"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, asyncio.QueueFull):
        return "rejected"
    return "error"


def outcome_classifier(*, closed_errors: tuple[type[BaseException], ...] = (),
                       full_errors: tuple[type[BaseException], ...] = (),
                       full_outcome: str = "timeout") -> OutcomeOf:
    """An ``outcome_of`` for a target: its ``closed_errors`` -> ``closed``, its
    ``full_errors`` -> ``full_outcome`` (``timeout`` for ``put(timeout=)``, ``rejected``
    for ``put_nowait`` or the reject policy), everything else as :func:`default_outcome`.

    :raises ValueError: full_outcome is not ``timeout`` or ``rejected``.
    """
    _checks.one_of("full_outcome", full_outcome, ("timeout", "rejected"))
    closed, full = tuple(closed_errors), tuple(full_errors)

    def outcome_of(exc: BaseException | None, result: Any) -> str:
        if exc is not None:
            if closed and isinstance(exc, closed):
                return "closed"
            if full and isinstance(exc, full):
                return full_outcome
        return default_outcome(exc, result)

    return outcome_of


def as_async(fn: Callable[[Any], Any]) -> Callable[[Any], Awaitable[Any]]:
    """Wrap a synchronous put (e.g. ``buffer.add_chunk``, ``queue.put_nowait``) so a
    producer can await it; coroutine functions are returned unchanged."""
    if inspect.iscoroutinefunction(fn):
        return fn

    async def put(item: Any) -> Any:
        return fn(item)

    return put


@dataclass(frozen=True)
class ProducerReport:
    """What one producer did. Counts are per outcome of the attempted puts."""

    producer: int
    count: int
    """Chunks scheduled."""
    sent: int
    """Chunks attempted (``count`` unless the producer stopped early)."""
    queued: int
    dropped: int
    timeouts: int
    closed: int
    rejected: int
    errors: int
    max_schedule_lag_ms: float
    """Max over chunks of put start - max(intended, previous put end): delay the producer
    itself caused (busy loop, saturated machine). Large values make a run invalid."""
    max_late_ms: float
    """Max over chunks of put start - intended: how far behind schedule the producer fell,
    including time held back by blocking puts."""
    stopped_early: bool
    """The ``stop`` event, or an outcome in ``stop_on``, ended the producer before every
    scheduled chunk was attempted."""
    first_error: str | None
    """``repr`` of the first exception a put raised, if any."""


def _check_offsets(offsets: np.ndarray, count: int, rate: RateModel) -> array[int]:
    if offsets.shape != (count,):
        raise ValueError(f"rate {rate!r} returned {offsets.shape} offsets for count={count}")
    if count and (offsets[0] < 0 or np.any(np.diff(offsets) < 0)):
        raise ValueError(f"rate {rate!r} returned negative or decreasing offsets")
    # a typed array, not a list: an hour-long stream holds no object per scheduled chunk
    return array("q", offsets.astype(np.int64, copy=False).tobytes())


async def open_loop_producer(
    *, producer: int, count: int, rate: RateModel,
    make_chunk: Callable[[int, int], Any],
    put: Callable[[Any], Awaitable[Any]],
    trace: Trace, start_ns: int,
    outcome_of: OutcomeOf | None = None,
    stop_on: Collection[str] = (),
    stop: asyncio.Event | None = None,
    first_seq: int = 0,
    spin_ms: float = 1.0,
    full: FullProbe | None = None,
    clock: Clock = time.perf_counter_ns,
    sleep: Sleep = asyncio.sleep,
) -> ProducerReport:
    """Send ``count`` chunks ``make_chunk(producer, seq)`` through ``put`` on ``rate``'s
    schedule from ``start_ns``, recording each attempt in ``trace``.

    ``seq`` runs from ``first_seq``; chunks carry ``make_sequence(producer, seq)`` if the
    scenario's ``make_chunk`` follows the convention. A put that raises is classified by
    ``outcome_of`` (default :func:`default_outcome`) and the producer goes on, unless the
    outcome is in ``stop_on``; a set ``stop`` event ends it before the next chunk.
    Cancellation records the chunk in flight as ``cancelled`` and propagates. ``full``
    (:data:`FullProbe`) is asked right before each put, with no await in between, and its
    answer recorded with the send, so a put that took long is known to have waited for
    room (or not: then a pause of the machine, not the target, made it slow).

    :raises ValueError: producer < 0, count < 0, an unknown outcome in ``stop_on``, a
        rate returning the wrong number of offsets or decreasing ones, spin_ms < 0.
    """
    producer = _checks.integer("producer", producer, minimum=0)
    count = _checks.integer("count", count, minimum=0)
    first_seq = _checks.integer("first_seq", first_seq, minimum=0)
    if first_seq + count > SEQUENCE_BASE:
        raise ValueError(f"first_seq + count must be <= 2**32, got {first_seq + count}")
    spin_ns = int(_checks.non_negative("spin_ms", spin_ms) * 1_000_000)
    for outcome in stop_on:
        _checks.one_of("stop_on", outcome, OUTCOMES)
    offsets = _check_offsets(rate.offsets_ns(count), count, rate)

    record = trace.sent
    tally = dict.fromkeys(OUTCOMES, 0)
    max_lag = max_late = 0
    prev_end = start_ns
    stopped = False
    first_error: str | None = None
    seq = first_seq
    for offset in offsets:
        if stop is not None and stop.is_set():
            stopped = True
            break
        chunk = make_chunk(producer, seq)
        intended = start_ns + offset
        began = clock()
        if began < intended:
            began = await sleep_until(intended, clock=clock, sleep=sleep, spin_ns=spin_ns)
        was_full = None if full is None else probe_full(full)
        exc: Exception | None = None
        result: Any = None
        try:
            result = await put(chunk)
        except asyncio.CancelledError:
            record(producer, seq, intended, began, clock(), "cancelled", was_full)
            raise
        except Exception as error:
            exc = error
            if first_error is None:
                first_error = repr(error)
        ended = clock()
        if outcome_of is not None:
            outcome = outcome_of(exc, result)
        elif exc is None:
            outcome = "dropped" if result is False else "queued"
        else:
            outcome = default_outcome(exc, result)
        record(producer, seq, intended, began, ended, outcome, was_full)
        tally[outcome] += 1
        lag = began - (intended if intended > prev_end else prev_end)
        if lag > max_lag:
            max_lag = lag
        if began - intended > max_late:
            max_late = began - intended
        prev_end = ended
        seq += 1
        if outcome in stop_on:
            stopped = seq - first_seq < count
            break
    return ProducerReport(
        producer=producer, count=count, sent=seq - first_seq, queued=tally["queued"],
        dropped=tally["dropped"], timeouts=tally["timeout"], closed=tally["closed"],
        rejected=tally["rejected"], errors=tally["error"],
        max_schedule_lag_ms=max_lag / 1e6, max_late_ms=max_late / 1e6,
        stopped_early=stopped, first_error=first_error,
    )
