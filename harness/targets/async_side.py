"""The async side of a thread-safe mixed queue (janus, culsans) in the harness's queue API.

Both libraries pair a sync and an async interface on one queue; the adapters drive the
async side (``async_q``). Each method calls one method of that side and returns what it
returns; only ``close()`` differs by library, so each adapter says what it is.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AsyncSideQueue"]


class AsyncSideQueue:
    """A mixed queue's ``async_q`` as the queue part: put/get and their ``_nowait`` twins,
    ``len()`` as ``qsize()``. Subclasses build ``native`` and say how to ``close()``."""

    __slots__ = ("native", "natives", "side")

    def __init__(self, native: Any, aliases: dict[str, str] | None = None) -> None:
        self.native = native
        self.side = side = native.async_q
        # where a task waits inside the library: the side, and the queue under its aliases
        self.natives = ((side, {}), (native, aliases or {}))

    async def put(self, item: Any) -> Any:
        return await self.side.put(item)

    def put_nowait(self, item: Any) -> Any:
        return self.side.put_nowait(item)

    async def get(self) -> Any:
        return await self.side.get()

    def get_nowait(self) -> Any:
        return self.side.get_nowait()

    def close(self) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.side.qsize()
