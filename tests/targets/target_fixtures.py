"""Targets for the parts and bad-input tests (``--target target_fixtures:<factory>``)."""

from __future__ import annotations

import asyncio
from typing import Any

from harness.targets import Adapter, Capabilities


class QueueOnly(Adapter):
    """asyncio.Queue behind the smallest adapter: a queue part and nothing else."""

    name = "queue-only"
    version = "1"
    parts = frozenset({"queue"})
    capabilities = Capabilities(close=False, level=False, events=False)

    def make_queue(self, max_size: int = 100, **_: Any) -> Any:
        return asyncio.Queue(max_size)


class Closeless(QueueOnly):
    """Says its queue can close (the default capability), but asyncio.Queue (3.11) cannot."""

    name = "closeless"
    capabilities = Capabilities(level=False, events=False)


class NoBufferMaker(QueueOnly):
    """Declares a buffer part without a make_buffer of its own."""

    name = "no-buffer-maker"
    parts = frozenset({"queue", "buffer"})


def queue_only() -> QueueOnly:
    return QueueOnly()


def closeless() -> Closeless:
    return Closeless()


def no_buffer_maker() -> NoBufferMaker:
    return NoBufferMaker()
