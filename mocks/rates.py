"""Open-loop schedules: when each chunk is *intended* to be sent.

A rate model turns a chunk count into intended send offsets (int64 nanoseconds from the
producer's start, non-decreasing, the first at 0). Producers never send before a chunk's
offset and never skip one, so latency measured from the intended time is free of
coordinated omission. Random models are deterministic for their seed.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np

from mocks import _checks

__all__ = [
    "BurstyRate",
    "ConstantRate",
    "JitteredRate",
    "RampRate",
    "RateModel",
    "StallRate",
]

_NS_PER_S = 1_000_000_000


@runtime_checkable
class RateModel(Protocol):
    """A schedule of intended send times."""

    def offsets_ns(self, count: int) -> np.ndarray:
        """``count`` intended offsets in ns from start: int64, non-decreasing, first 0.

        :raises ValueError: count < 0.
        """
        ...


def _count(count: int) -> int:
    return _checks.integer("count", count, minimum=0)


def _to_ns(seconds: np.ndarray) -> np.ndarray:
    return np.rint(seconds * _NS_PER_S).astype(np.int64)


class ConstantRate:
    """Evenly spaced chunks: chunk ``i`` at ``i / rate_cps`` seconds."""

    def __init__(self, rate_cps: float) -> None:
        self.rate_cps = _checks.positive("rate_cps", rate_cps)

    def offsets_ns(self, count: int) -> np.ndarray:
        return _to_ns(np.arange(_count(count), dtype=np.float64) / self.rate_cps)

    def __repr__(self) -> str:
        return f"ConstantRate(rate_cps={self.rate_cps!r})"


class JitteredRate:
    """Mean rate ``rate_cps``; each gap is the mean gap times ``1 + U(-jitter, jitter)``."""

    def __init__(self, rate_cps: float, jitter: float = 0.2, seed: int = 0) -> None:
        self.rate_cps = _checks.positive("rate_cps", rate_cps)
        self.jitter = _checks.non_negative("jitter", jitter)
        if self.jitter >= 1.0:
            raise ValueError(f"jitter must be < 1 (a gap cannot be negative), got {jitter!r}")
        self.seed = _checks.integer("seed", seed, minimum=0)

    def offsets_ns(self, count: int) -> np.ndarray:
        count = _count(count)
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        rng = np.random.default_rng(self.seed)
        gaps = (1.0 + rng.uniform(-self.jitter, self.jitter, size=count - 1)) / self.rate_cps
        return _to_ns(np.concatenate(([0.0], np.cumsum(gaps))))

    def __repr__(self) -> str:
        return f"JitteredRate(rate_cps={self.rate_cps!r}, jitter={self.jitter!r}, seed={self.seed})"


class BurstyRate:
    """Bursts of ``burst_size`` chunks due at the same instant, at a mean rate ``rate_cps``.

    Bursts start every ``burst_size / rate_cps`` seconds on average; each gap between bursts
    is scaled by ``1 + U(-spread, spread)`` (``spread=0`` gives a fixed period).
    """

    def __init__(self, rate_cps: float, burst_size: int, seed: int = 0, *,
                 spread: float = 0.5) -> None:
        self.rate_cps = _checks.positive("rate_cps", rate_cps)
        self.burst_size = _checks.integer("burst_size", burst_size, minimum=1)
        self.seed = _checks.integer("seed", seed, minimum=0)
        self.spread = _checks.non_negative("spread", spread)
        if self.spread >= 1.0:
            raise ValueError(f"spread must be < 1 (a gap cannot be negative), got {spread!r}")

    def offsets_ns(self, count: int) -> np.ndarray:
        count = _count(count)
        bursts = -(-count // self.burst_size)
        if bursts == 0:
            return np.zeros(0, dtype=np.int64)
        rng = np.random.default_rng(self.seed)
        period = self.burst_size / self.rate_cps
        gaps = period * (1.0 + rng.uniform(-self.spread, self.spread, size=bursts - 1))
        starts = np.concatenate(([0.0], np.cumsum(gaps)))
        return _to_ns(np.repeat(starts, self.burst_size)[:count])

    def __repr__(self) -> str:
        return (f"BurstyRate(rate_cps={self.rate_cps!r}, burst_size={self.burst_size}, "
                f"seed={self.seed}, spread={self.spread!r})")


class RampRate:
    """Rate changing linearly in time from ``start_cps`` to ``end_cps`` over the run.

    The ramp spans exactly the ``count`` chunks asked for: it lasts
    ``2 * count / (start_cps + end_cps)`` seconds (k6's ramping-arrival-rate shape).
    """

    def __init__(self, start_cps: float, end_cps: float) -> None:
        self.start_cps = _checks.positive("start_cps", start_cps)
        self.end_cps = _checks.positive("end_cps", end_cps)

    def offsets_ns(self, count: int) -> np.ndarray:
        count = _count(count)
        b = self.start_cps
        total_s = 2.0 * count / (self.start_cps + self.end_cps)
        a = (self.end_cps - self.start_cps) / (2.0 * total_s) if count else 0.0
        # Chunk i is due when the integral of the rate reaches i: a t^2 + b t = i, solved in
        # the cancellation-free form t = 2i / (b + sqrt(b^2 + 4 a i)).
        i = np.arange(count, dtype=np.float64)
        t = 2.0 * i / (b + np.sqrt(np.maximum(b * b + 4.0 * a * i, 0.0)))
        return _to_ns(t)

    def __repr__(self) -> str:
        return f"RampRate(start_cps={self.start_cps!r}, end_cps={self.end_cps!r})"


class StallRate:
    """Constant ``rate_cps`` with one silent gap: chunks from index ``stall_at`` on are
    due ``stall_ms`` later (the source stalls, then resumes at the same rate)."""

    def __init__(self, rate_cps: float, stall_at: int, stall_ms: float) -> None:
        self.rate_cps = _checks.positive("rate_cps", rate_cps)
        self.stall_at = _checks.integer("stall_at", stall_at, minimum=0)
        self.stall_ms = _checks.non_negative("stall_ms", stall_ms)

    def offsets_ns(self, count: int) -> np.ndarray:
        offsets = ConstantRate(self.rate_cps).offsets_ns(count)
        offsets[self.stall_at:] += math.floor(self.stall_ms * 1_000_000)
        return offsets

    def __repr__(self) -> str:
        return (f"StallRate(rate_cps={self.rate_cps!r}, stall_at={self.stall_at}, "
                f"stall_ms={self.stall_ms!r})")
