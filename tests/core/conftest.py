"""Fixtures for the stageflow_core tests: an event recorder and deterministic scheduling."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest


class EventLog:
    """An event emitter that records ``(name, payload)`` pairs."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, payload: dict[str, Any]) -> None:
        self.events.append((name, dict(payload)))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def payloads(self, name: str) -> list[dict[str, Any]]:
        return [payload for event, payload in self.events if event == name]


@pytest.fixture
def events() -> EventLog:
    return EventLog()


async def _until(condition: Callable[[], bool], max_steps: int = 100) -> None:
    """Yield to the event loop until ``condition()`` holds; fail after ``max_steps``."""
    for _ in range(max_steps):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"condition not reached within {max_steps} event-loop steps")


@pytest.fixture
def until() -> Callable[..., Awaitable[None]]:
    return _until
