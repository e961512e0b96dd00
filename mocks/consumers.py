"""Consumers: queue readers with different behaviours, and a real-time playout clock.

Queue consumers record one receipt per item in the trace, decoding ``(producer, seq)``
from ``item.sequence`` (items without an integer ``sequence`` are recorded as -1/-1), and
stop at end of stream: ``get()`` returning ``None``, raising ``StopAsyncIteration`` or one
of ``end_errors`` (e.g. the target's closed errors), or ``get_many`` returning ``[]``.
They return the number of items taken.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mocks import _checks
from mocks._clock import Clock, Sleep, sleep_until
from mocks.signals import chunk_frames, frame_bytes
from mocks.trace import SEQUENCE_BASE, Trace

__all__ = [
    "ConsumerCrashed",
    "PlayoutLatency",
    "PlayoutReport",
    "crashing_consumer",
    "drain_nowait",
    "fast_consumer",
    "playout_consumer",
    "slow_consumer",
    "stalled_consumer",
    "take_nowait",
]

EndErrors = tuple[type[BaseException], ...]


class ConsumerCrashed(RuntimeError):
    """Raised by :func:`crashing_consumer` when it dies on purpose."""


async def _consume(queue: Any, *, consumer: int, trace: Trace, end_errors: EndErrors,
                   batch: int = 0, limit: int | None = None,
                   gate: asyncio.Event | None = None,
                   after_item: Callable[[], Awaitable[Any]] | None = None) -> int:
    """Take items until end of stream (or ``limit`` items); return how many were taken."""
    consumer = _checks.integer("consumer", consumer, minimum=0)
    batch = _checks.integer("batch", batch, minimum=0)
    get = queue.get_many if batch else queue.get
    args = (batch,) if batch else ()
    record = trace.received
    clock = time.perf_counter_ns
    taken = 0
    while limit is None or taken < limit:
        if gate is not None and not gate.is_set():
            await gate.wait()
        try:
            got = await get(*args)
        except StopAsyncIteration:
            break
        except end_errors:
            break
        if got is None:
            break
        if not batch:
            got = (got,)
        elif not got:
            break
        recv_ns = clock()
        for item in got:
            sequence = getattr(item, "sequence", None)
            if isinstance(sequence, int):
                producer, seq = divmod(sequence, SEQUENCE_BASE)
            else:
                producer = seq = -1
            record(consumer, producer, seq, recv_ns)
        taken += len(got)
        if after_item is not None:
            await after_item()
    return taken


def _identity(item: Any) -> tuple[int, int]:
    sequence = getattr(item, "sequence", None)
    if isinstance(sequence, int):
        producer, seq = divmod(sequence, SEQUENCE_BASE)
        return producer, seq
    return -1, -1


def take_nowait(queue: Any) -> list[tuple[int, int, int]]:
    """Take what is left in ``queue`` without waiting: ``(producer, seq, t_ns)`` per item
    (-1/-1 for an item without a sequence; ``None`` end-of-stream markers are skipped).

    Stops at the first ``get_nowait`` that raises (empty, closed, anything) and after
    ``len(queue) + 1`` attempts; a queue whose ``len()`` fails gives nothing. Never raises.
    """
    taken: list[tuple[int, int, int]] = []
    try:
        budget = len(queue) + 1
    except Exception:
        return taken
    clock = time.perf_counter_ns
    for _ in range(budget):
        try:
            item = queue.get_nowait()
        except Exception:
            break
        if item is not None:
            taken.append((*_identity(item), clock()))
    return taken


def drain_nowait(queue: Any, *, consumer: int, trace: Trace) -> int:
    """Take what is left in ``queue`` without waiting (:func:`take_nowait`), recording a
    receipt per item for ``consumer``; returns how many were taken.

    :raises ValueError: consumer < 0.
    """
    consumer = _checks.integer("consumer", consumer, minimum=0)
    taken = take_nowait(queue)
    for producer, seq, t_ns in taken:
        trace.received(consumer, producer, seq, t_ns)
    return len(taken)


async def fast_consumer(queue: Any, *, consumer: int, trace: Trace,
                        end_errors: EndErrors = (), batch: int = 0) -> int:
    """Take items as fast as the queue gives them (``get_many(batch)`` when batch > 0).

    :raises ValueError: consumer < 0 or batch < 0.
    """
    return await _consume(queue, consumer=consumer, trace=trace, end_errors=end_errors,
                          batch=batch)


async def slow_consumer(queue: Any, *, consumer: int, trace: Trace, delay_ms: float,
                        end_errors: EndErrors = ()) -> int:
    """Take one item, then spend ``delay_ms`` processing it (an ``asyncio.sleep``, so the
    real delay is at least ``delay_ms`` and up to ~1 ms more); repeat.

    :raises ValueError: consumer < 0, delay_ms negative or NaN.
    """
    delay_s = _checks.non_negative("delay_ms", delay_ms) / 1000.0

    async def process() -> None:
        await asyncio.sleep(delay_s)

    return await _consume(queue, consumer=consumer, trace=trace, end_errors=end_errors,
                          after_item=process)


async def stalled_consumer(queue: Any, *, consumer: int, trace: Trace, stall: asyncio.Event,
                           end_errors: EndErrors = ()) -> int:
    """A consumer held by a gate: it takes items only while ``stall`` is set.

    It starts stalled unless ``stall`` is already set; ``stall.set()`` releases it and
    ``stall.clear()`` stalls it again before its next get (an item it is already waiting
    for is still taken). See :func:`mocks.faults.stall_during` for a scheduled stall.

    :raises ValueError: consumer < 0.
    """
    return await _consume(queue, consumer=consumer, trace=trace, end_errors=end_errors,
                          gate=stall)


async def crashing_consumer(queue: Any, *, consumer: int, trace: Trace, crash_after: int,
                            end_errors: EndErrors = ()) -> int:
    """Take ``crash_after`` items, then raise :class:`ConsumerCrashed` without taking more
    (a consumer that dies, leaving producers with nobody to drain the queue). Returns the
    count instead when the stream ends first.

    :raises ValueError: consumer < 0 or crash_after < 0.
    :raises ConsumerCrashed: after ``crash_after`` items.
    """
    crash_after = _checks.integer("crash_after", crash_after, minimum=0)
    taken = await _consume(queue, consumer=consumer, trace=trace, end_errors=end_errors,
                           limit=crash_after)
    if taken < crash_after:
        return taken
    raise ConsumerCrashed(f"consumer {consumer} crashed on purpose after {taken} items")


class PlayoutLatency:
    """Per-chunk playout latency through an audio buffer, by byte-offset accounting.

    Chunks lose their identity in a buffer, so their bytes are counted instead: each
    chunk written occupies the next ``nbytes`` of the stream; reads, overflow trims and
    clears consume the stream from its oldest byte. A chunk is *played* when a read
    consumes its last byte: a receipt is recorded in ``trace`` (for ``consumer``) at that
    read's time, so the harness's latency (intended send -> receipt) becomes the time
    from the chunk's intended send to the moment the playout clock read its last byte.
    A chunk whose last byte was trimmed or cleared instead is counted in ``dropped``
    (trims and clears take the oldest bytes, as ``StreamingBuffer`` does; a target that
    trims otherwise shows as a byte-accounting mismatch in its scenario's checks).

    Usage: ``wrote(producer, seq, nbytes, trimmed)`` after each ``add_chunk`` (``trimmed``:
    what it returned), ``discarded(nbytes)`` after a ``clear``/interrupt, and
    ``read(nbytes, t_ns)`` after each playout read.
    """

    __slots__ = ("_consumed", "_pending", "_record", "_written", "consumer", "dropped",
                 "played")

    def __init__(self, trace: Trace, *, consumer: int = 0) -> None:
        self.consumer = _checks.integer("consumer", consumer, minimum=0)
        self._record = trace.received
        self._pending: deque[tuple[int, int, int]] = deque()  # (end offset, producer, seq)
        self._written = 0
        self._consumed = 0
        self.played = 0
        """Chunks whose last byte was read."""
        self.dropped = 0
        """Chunks whose last byte was trimmed or cleared."""

    @property
    def pending_bytes(self) -> int:
        """Bytes written and not yet read, trimmed or cleared."""
        return self._written - self._consumed

    def wrote(self, producer: int, seq: int, nbytes: int, trimmed: int = 0) -> None:
        """A chunk of ``nbytes`` was added; the buffer trimmed ``trimmed`` bytes for it."""
        if nbytes > 0:
            self._written += nbytes
            self._pending.append((self._written, producer, seq))
        if trimmed:
            self._drop(trimmed)

    def discarded(self, nbytes: int) -> None:
        """``nbytes`` of the oldest audio were cleared (``clear()``, a barge-in)."""
        if nbytes:
            self._drop(nbytes)

    def _drop(self, nbytes: int) -> None:
        self._consumed = min(self._written, self._consumed + nbytes)
        pending = self._pending
        while pending and pending[0][0] <= self._consumed:
            pending.popleft()
            self.dropped += 1

    def read(self, nbytes: int, t_ns: int | None = None) -> int:
        """A read returned ``nbytes`` at ``t_ns`` (now); returns the chunks it completed."""
        if nbytes <= 0:
            return 0
        self._consumed = min(self._written, self._consumed + nbytes)
        pending = self._pending
        done = 0
        if pending and pending[0][0] <= self._consumed:
            now = time.perf_counter_ns() if t_ns is None else t_ns
            while pending and pending[0][0] <= self._consumed:
                _end, producer, seq = pending.popleft()
                self._record(self.consumer, producer, seq, now)
                done += 1
            self.played += done
        return done


@dataclass(frozen=True)
class PlayoutReport:
    """What a real-time speaker experienced while playing from a buffer."""

    reads: int
    """Reads made (one per ``read_ms`` tick)."""
    short_reads: int
    """Reads that returned fewer whole frames than asked."""
    underruns: int
    """Underrun episodes: runs of consecutive short reads."""
    underrun_ms: float
    """Audio time missing over all short reads (silence the listener heard)."""
    recovery_ms: tuple[float, ...]
    """For each episode that ended, time from its first short read to the next full read."""
    unrecovered: bool
    """The playout ended in an underrun episode."""
    bytes_read: int
    partial_frame_reads: int
    """Reads whose length was not a whole number of frames (corrupts every later sample)."""
    max_tick_lag_ms: float
    """Max lateness of a read behind its tick (the playout clock itself fell behind)."""
    startup_ms: float
    """Time waited for ``is_ready()`` before the first read (0 without ``wait_ready``)."""

    @property
    def frames_intact(self) -> bool:
        """Every read was a whole number of frames."""
        return self.partial_frame_reads == 0

    @property
    def max_recovery_ms(self) -> float | None:
        """Longest recovery, or None when no underrun episode ended."""
        return max(self.recovery_ms) if self.recovery_ms else None


async def playout_consumer(
    buffer: Any, *, trace: Trace, read_ms: float, duration_ms: float, sample_rate: int,
    channels: int, fmt: str = "pcm_16", wait_ready: bool = False,
    ready_timeout_ms: float | None = None, series: str | None = "playout.buffer_ms",
    stop: asyncio.Event | None = None, spin_ms: float = 1.0,
    clock: Clock = time.perf_counter_ns, sleep: Sleep = asyncio.sleep,
) -> PlayoutReport:
    """Play ``duration_ms`` of audio from ``buffer`` like a real-time speaker.

    Every ``read_ms`` of wall time (on an absolute schedule, so the clock does not drift;
    late ticks are read at once, none skipped) it calls ``buffer.read(read_ms)``. A read
    with fewer whole frames than ``read_ms`` holds is short; consecutive short reads are one
    underrun episode, which ends at the next full read. With ``wait_ready`` it first polls
    ``buffer.is_ready()`` every ``read_ms`` (up to ``ready_timeout_ms``, default
    ``duration_ms``) before starting, as a player with a jitter buffer does. Before each
    read it samples ``buffer.duration_ms`` into ``trace`` as ``series`` (None: don't).

    :raises ValueError: read_ms shorter than one frame, negative/NaN duration_ms,
        sample_rate < 1, channels < 1, unknown format.
    """
    read = _checks.positive("read_ms", read_ms)
    duration = _checks.non_negative("duration_ms", duration_ms)
    size = frame_bytes(channels, fmt)
    want_frames = chunk_frames(read, sample_rate)
    if want_frames < 1:
        raise ValueError(f"read_ms {read_ms!r} is shorter than one frame at {sample_rate} Hz")
    timeout = duration if ready_timeout_ms is None else _checks.non_negative(
        "ready_timeout_ms", ready_timeout_ms)
    spin_ns = int(_checks.non_negative("spin_ms", spin_ms) * 1_000_000)
    frame_ms = 1000.0 / sample_rate
    tick_ns = round(read * 1_000_000)
    ticks = int(duration / read + 1e-9)
    sample = trace.sample if series is not None and hasattr(buffer, "duration_ms") else None

    started = clock()
    if wait_ready:
        deadline = started + round(timeout * 1_000_000)
        due = started
        while not buffer.is_ready() and due < deadline:
            if stop is not None and stop.is_set():
                break
            due += tick_ns
            await sleep_until(due, clock=clock, sleep=sleep, spin_ns=spin_ns)
    t0 = clock()

    reads = short = episodes = partial = bytes_read = 0
    missing_frames = 0
    max_lag = 0
    recoveries: list[float] = []
    episode_start: int | None = None
    for k in range(ticks):
        if stop is not None and stop.is_set():
            break
        due = t0 + k * tick_ns
        now = await sleep_until(due, clock=clock, sleep=sleep, spin_ns=spin_ns)
        max_lag = max(max_lag, now - due)
        if sample is not None:
            sample(series, buffer.duration_ms, now)
        data = buffer.read(read)
        reads += 1
        got = len(data)
        bytes_read += got
        if got % size:
            partial += 1
        got_frames = got // size
        if got_frames < want_frames:
            short += 1
            missing_frames += want_frames - got_frames
            if episode_start is None:
                episodes += 1
                episode_start = now
        elif episode_start is not None:
            recoveries.append((now - episode_start) / 1e6)
            episode_start = None
    return PlayoutReport(
        reads=reads, short_reads=short, underruns=episodes,
        underrun_ms=missing_frames * frame_ms, recovery_ms=tuple(recoveries),
        unrecovered=episode_start is not None, bytes_read=bytes_read,
        partial_frame_reads=partial, max_tick_lag_ms=max_lag / 1e6,
        startup_ms=(t0 - started) / 1e6,
    )
