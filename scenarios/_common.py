"""Helpers shared by the built-in scenarios (not part of the public scenario API).

Everything here reaches primitives only through the target handed in; nothing imports
``stageflow_core`` or the harness.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mocks.consumers import PlayoutLatency
from mocks.producers import FullProbe
from mocks.signals import SignalSource
from mocks.trace import Trace, make_sequence

__all__: list[str] = []

RAMP_MODULUS = 1 << 16
"""Ramp audio: frame ``i`` holds ``i mod 2**16`` (as uint16) in every channel."""


def chunk_pool(*, kind: str, count: int, sample_rate: int, channels: int, fmt: str,
               chunk_ms: float, seed: int) -> list[bytes]:
    """``count`` consecutive chunks of a signal, to be cycled by chunk makers."""
    source = SignalSource(kind, sample_rate=sample_rate, channels=channels, fmt=fmt,
                          chunk_ms=chunk_ms, seed=seed)
    return source.take(count)


def chunk_maker(target: Any, pool: Sequence[bytes], *, sample_rate: int, channels: int,
                fmt: str, chunk_ms: float) -> Callable[[int, int], Any]:
    """``make_chunk(producer, seq)`` for open-loop producers: payloads cycled from ``pool``,
    identity in ``sequence`` (``make_sequence``), timestamp from the position."""
    make = target.make_chunk
    size = len(pool)

    def make_chunk(producer: int, seq: int) -> Any:
        return make(pool[seq % size], sample_rate=sample_rate, channels=channels, fmt=fmt,
                    timestamp_ms=seq * chunk_ms, sequence=make_sequence(producer, seq))

    return make_chunk


def is_missing_capability(exc: BaseException) -> bool:
    """True for the target's "I cannot do that" (``harness.targets.CapabilityMissing``,
    recognised by its ``capability`` and ``target`` attributes: scenarios do not import the
    harness). A scenario catching errors from a target must let this one mean "not run",
    never "failed"."""
    return hasattr(exc, "capability") and hasattr(exc, "target")


def queue_policy(target: Any) -> str:
    """The overflow policy a scenario that does not test overflow uses: ``block`` where the
    queue has it (the reference's default), else the first policy it has (a drop-newest-only
    queue runs the same scenario with its own policy)."""
    policies = target.capabilities.overflow_policies
    return "block" if "block" in policies else sorted(policies)[0]


def never_full() -> bool:
    """The ``full`` probe of a put that never waits for room: a drop or reject policy,
    a buffer write."""
    return False


def full_probe(queue: Any, max_size: int, *, policy: str = "block") -> FullProbe | None:
    """The ``full`` probe producers ask before each put: True when ``queue`` holds
    ``max_size`` items and ``policy`` makes a put wait for room (only ``block`` does).

    None when the queue has no ``__len__``: the telemetry check then judges every slow put.
    """
    if policy != "block":
        return never_full
    if not callable(getattr(queue, "__len__", None)):
        return None
    return lambda: len(queue) >= max_size


async def close_queue(queue: Any, *, ctx: Any = None, name: str = "queue") -> None:
    """``await queue.close()`` or ``queue.close()``, whichever the target has; with
    ``ctx``, first tells it that its watched queue ``name`` is closing (``ctx.closed``).

    :raises CapabilityMissing: ``close``: the queue has no way to end a stream (asyncio.Queue
        before Python 3.13), so the scenario cannot end its consumers and stops, skipped.
    """
    if not callable(getattr(queue, "close", None)):
        from harness.targets import CapabilityMissing

        target = getattr(ctx, "target", None)
        raise CapabilityMissing("close", getattr(target, "name", type(queue).__name__))
    if ctx is not None:
        ctx.closed(name)
    result = queue.close()
    if asyncio.iscoroutine(result):
        await result


class Schedule:
    """A rate model from explicit segments: ``[(count, rate_cps), ...]`` back to back."""

    def __init__(self, segments: Sequence[tuple[int, float]]) -> None:
        offsets: list[np.ndarray] = []
        start_s = 0.0
        for count, rate in segments:
            if count < 0 or not rate > 0:
                raise ValueError(f"segment ({count}, {rate}) needs count >= 0 and rate > 0")
            offsets.append(start_s + np.arange(count) / rate)
            start_s += count / rate
        self._offsets_ns = np.round(np.concatenate(offsets or [np.empty(0)]) * 1e9).astype(
            np.int64)

    def offsets_ns(self, count: int) -> np.ndarray:
        if count > self._offsets_ns.size:
            raise ValueError(f"schedule has {self._offsets_ns.size} chunks, asked for {count}")
        return self._offsets_ns[:count].copy()

    def __len__(self) -> int:
        return int(self._offsets_ns.size)


# --- ramp audio: every frame says where it is ---------------------------------------------

def ramp_bytes(first_frame: int, frames: int, channels: int) -> bytes:
    """PCM_16 audio whose frame ``i`` holds ``i mod 2**16`` in every channel."""
    values = (np.arange(first_frame, first_frame + frames, dtype=np.int64) % RAMP_MODULUS)
    samples = np.repeat(values.astype(np.uint16)[:, None], channels, axis=1)
    return samples.astype("<u2").tobytes()


@dataclass
class RampChecker:
    """Follows the frame positions of ramp audio read back from a buffer.

    A read is *intact* when it is whole frames, every channel of a frame holds the same
    position, and positions are consecutive inside the read. Between reads the position
    may only move forward: by exactly one (continuous) or by more (a gap: audio dropped).
    """

    channels: int
    reads: int = 0
    corrupt: int = 0
    partial: int = 0
    """Corrupt reads that were not whole frames (the others: misaligned or out of order)."""
    gaps: int = 0
    frames_skipped: int = 0
    backwards: int = 0
    last: int | None = None
    first_problem: str = ""

    def _problem(self, text: str) -> None:
        if not self.first_problem:
            self.first_problem = f"read #{self.reads}: {text}"

    def check(self, data: bytes) -> None:
        self.reads += 1
        frame = 2 * self.channels
        if not data:
            return
        if len(data) % frame:
            self.corrupt += 1
            self.partial += 1
            self._problem(f"{len(data)} B is not whole {frame}-byte frames")
            self.last = None  # alignment lost: resynchronise on the next good read
            return
        samples = np.frombuffer(data, dtype="<u2").reshape(-1, self.channels).astype(np.int64)
        if self.channels > 1 and np.any(samples != samples[:, :1]):
            self.corrupt += 1
            self._problem("channels of a frame disagree (frames misaligned)")
            self.last = None
            return
        positions = samples[:, 0]
        steps = np.diff(positions) % RAMP_MODULUS
        if np.any(steps != 1):
            self.corrupt += 1
            self._problem("positions not consecutive inside one read")
            self.last = None
            return
        if self.last is not None:
            step = int((positions[0] - self.last) % RAMP_MODULUS)
            if step == 0 or step > RAMP_MODULUS // 2:
                self.backwards += 1
                self._problem(f"position went back from {self.last} to {int(positions[0])}")
            elif step > 1:
                self.gaps += 1
                self.frames_skipped += step - 1
        self.last = int(positions[-1])


READ_FRAMES = ("StreamingBuffer", "read", "whole_frames")
READ_INTEGRITY = ("StreamingBuffer", "read", "integrity")
BUFFER_BOUNDS = ("StreamingBuffer", "add_chunk (overflow)", "bounds")
TRIM_FRAMES = ("StreamingBuffer", "add_chunk (overflow trim)", "whole_frames")
"""Defect keys ``(component, operation, property)`` the buffer scenarios name in
``ctx.expect(..., defects=...)`` (vocabulary: ``harness.defects``)."""


def ramp_defects(checker: RampChecker) -> list[tuple[str, str, str]]:
    """The defects a :class:`RampChecker` saw: reads of partial frames (whole_frames), and
    reads misaligned, out of order or going back (integrity)."""
    found = []
    if checker.partial:
        found.append(READ_FRAMES)
    if checker.corrupt > checker.partial or checker.backwards:
        found.append(READ_INTEGRITY)
    return found


def parse_format(spec: str) -> tuple[int, int]:
    """``"44100x2"`` -> ``(44100, 2)``.

    :raises ValueError: not ``RATExCHANNELS`` with both >= 1.
    """
    rate, sep, channels = str(spec).partition("x")
    if not sep or not rate.isdigit() or not channels.isdigit() or int(rate) < 1 or int(
            channels) < 1:
        raise ValueError(f"audio format must look like '16000x1' (rate x channels), got {spec!r}")
    return int(rate), int(channels)


class ReadProbe:
    """Wraps a target's buffer for a playout consumer: every ``read`` is checked as ramp
    audio, its length recorded in the trace as ``read_bytes.<name>`` and, with
    ``latency``, handed to the playout-latency accounting."""

    def __init__(self, buffer: Any, *, name: str, channels: int, trace: Trace,
                 stop_after_bytes: int | None = None,
                 latency: PlayoutLatency | None = None) -> None:
        self.buffer = buffer
        self.latency = latency
        """Told every read, so each chunk's playout latency is recorded (optional)."""
        self.name = name
        self.checker = RampChecker(channels)
        self.bytes_read = 0
        self.finished = asyncio.Event()
        """Set once ``stop_after_bytes`` have been read (hand it to the player as ``stop``)."""
        self._stop_after = stop_after_bytes
        self._sample = trace.sample
        self._series = f"read_bytes.{name}"

    def read(self, duration_ms: float) -> bytes:
        data = self.buffer.read(duration_ms)
        self._sample(self._series, len(data))
        self.bytes_read += len(data)
        if self.latency is not None:
            self.latency.read(len(data))
        self.checker.check(data)
        if self._stop_after is not None and self.bytes_read >= self._stop_after:
            self.finished.set()
        return data

    def is_ready(self) -> bool:
        return bool(self.buffer.is_ready())

    @property
    def duration_ms(self) -> float:
        return float(self.buffer.duration_ms)


class EventTap:
    """A per-primitive event emitter: forwards to the trace and keeps this primitive's
    own events (the trace's events do not say which buffer or queue sent them)."""

    def __init__(self, trace: Trace) -> None:
        self.events: list[tuple[str, dict[str, Any], int]] = []
        self._forward = trace.emitter

    def __call__(self, name: str, payload: dict[str, Any]) -> None:
        self.events.append((name, dict(payload), time.perf_counter_ns()))
        self._forward(name, payload)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [payload for event, payload, _t in self.events if event == name]


def buffered_bytes(buffer: Any) -> int | None:
    """Bytes held by a buffer: ``current_bytes`` where available, else ``stats``."""
    for read in (lambda: buffer.current_bytes, lambda: buffer.stats["bytes_buffered"]):
        try:
            return int(read())
        except Exception:
            continue
    return None
