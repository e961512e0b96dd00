"""A closable async channel (aiochannel's ``Channel``, livekit's ``Chan``) in the harness's
queue API.

Both libraries give one object with a blocking and a non-blocking put and get, ``close()``,
``qsize()`` and ``async for``; they differ only in what the methods are called. Each harness
method calls one method of the channel and returns what it returns; nothing is added.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ChannelQueue"]

class ChannelQueue:
    """A channel as the queue part: ``put``/``get`` and their ``_nowait`` twins, ``close``,
    ``len()`` as ``qsize()``, ``async for`` as the channel's own iteration. A channel whose
    methods have other names overrides those four, each a call of its own (a stored bound
    method would cost every call ~5 %: measured on aiochannel and livekit)."""

    __slots__ = ("native", "natives")

    def __init__(self, native: Any, aliases: dict[str, str] | None = None) -> None:
        self.native = native
        # where a task waits inside the library, under the harness's names for its methods
        self.natives = ((native, aliases or {}),)

    async def put(self, item: Any) -> Any:
        return await self.native.put(item)

    def put_nowait(self, item: Any) -> Any:
        return self.native.put_nowait(item)

    async def get(self) -> Any:
        return await self.native.get()

    def get_nowait(self) -> Any:
        return self.native.get_nowait()

    def close(self) -> Any:
        return self.native.close()

    def __len__(self) -> int:
        return self.native.qsize()

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        return await self.native.__anext__()
