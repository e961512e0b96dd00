"""Shared fakes for the mocks tests: a controllable clock whose sleep advances it."""

from __future__ import annotations

import asyncio

import pytest


class FakeClock:
    """A nanosecond clock that only moves when told to, or when someone sleeps on it.

    ``sleep(s)`` advances the clock by ``s`` (by ``quantum_ns`` for ``sleep(0)``, so that a
    loop yielding until a deadline terminates) and yields to the event loop once.
    """

    def __init__(self, start_ns: int = 1_000_000_000, quantum_ns: int = 10_000) -> None:
        self.now = start_ns
        self.quantum_ns = quantum_ns
        self.sleeps: list[float] = []

    def __call__(self) -> int:
        return self.now

    def advance_ms(self, ms: float) -> None:
        self.now += round(ms * 1_000_000)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(round(seconds * 1e9), self.quantum_ns)
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
