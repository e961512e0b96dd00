"""``aiochannel``: an ``aiochannel.Channel`` as the queue.

Every method calls the channel's own of the same name (``put``, ``put_nowait``, ``get``,
``get_nowait``, ``close``, ``async for``); ``len()`` is ``qsize()``.
"""

from __future__ import annotations

from typing import Any

from harness.contract import Declaration, Semantics
from harness.targets.base import Adapter, Capabilities, EventEmitter, LibraryCode
from harness.targets.channel_side import ChannelQueue

__all__ = ["AiochannelQueue", "AiochannelTarget"]

_README = "aiochannel README (PyPI description), Usage"
_WHERE = "aiochannel/channel.py"


class AiochannelQueue(ChannelQueue):
    """One ``aiochannel.Channel`` in the harness's queue API (the names are the channel's)."""

    __slots__ = ()

    def __init__(self, max_size: int) -> None:
        from aiochannel import Channel

        super().__init__(Channel(max_size))


class AiochannelTarget(Adapter):
    """aiochannel's closable Channel (queue part only)."""

    name = "aiochannel"
    distribution = "aiochannel"
    parts = frozenset({"queue"})
    capabilities = Capabilities(put_nowait=True, iterate=True, events=False)
    semantics = Semantics([
        Declaration("queue.closed_put", "raise", where=_README,
                    quote="Every call to .put() after .close() will fail with a "
                          "ChannelClosed."),
        Declaration("queue.end_of_stream", "raise", where=_README,
                    quote="ChannelClosed emplies that the channel is empty, but also that "
                          "is will never fill again"),
        Declaration("queue.close_delivers_pending", True, where=f"{_WHERE}, Channel docstring",
                    quote='A Channel is considered "finished" when it is closed and drained'),
        Declaration("queue.close_wakes_putters", True,
                    where=f"{_WHERE}, Channel.close docstring",
                    quote="Marks the channel is closed and throw a ChannelClosed in all "
                          "pending putters"),
        Declaration("queue.close_wakes_getters", True, where=_README,
                    quote="Note that this can also throw ChannelClosed if the channel is "
                          "closed before or during retrival."),
        Declaration("queue.none_item", "data", where=f"{_WHERE}, Channel.put docstring",
                    quote="Put an item into the channel. (any object)"),
        Declaration("queue.overflow_policies", frozenset({"block"}),
                    where=f"{_WHERE}, Channel.put docstring",
                    quote="If the channel is full, wait until a free slot is available "
                          "before adding item."),
        Declaration("queue.full_put", "block",
                    where=f"{_WHERE}, Channel.put docstring",
                    quote="If the channel is full, wait until a free slot is available "
                          "before adding item."),
        Declaration("queue.zero_size", "unbounded", where=f"{_WHERE}, Channel.full docstring",
                    quote="Note: if the Channel was initialized with maxsize=0 (the "
                          "default), then full() is never True."),
        Declaration("queue.drop_events", False, where=f"{_WHERE}, Channel.__init__",
                    quote="self, maxsize: int = 0, *, loop: Optional[AbstractEventLoop] = "
                          "None (no event hook)"),
        Declaration("queue.blocked_events", False, where=f"{_WHERE}, Channel.__init__",
                    quote="self, maxsize: int = 0, *, loop: Optional[AbstractEventLoop] = "
                          "None (no event hook)"),
    ])
    library = LibraryCode(
        imports="from aiochannel import Channel, ChannelClosed, ChannelEmpty, ChannelFull",
        make="q = Channel({max_size})",
        calls={"put": "await q.put({item})", "put_nowait": "q.put_nowait({item})",
               "get": "await q.get()", "get_nowait": "q.get_nowait()", "close": "q.close()",
               "len": "q.qsize()", "anext": "await q.__anext__()"},
        errors={"closed": "ChannelClosed", "end": "ChannelClosed", "full": "ChannelFull",
                "empty": "ChannelEmpty"},
        queue="aiochannel.Channel",
        bound_wait="async with asyncio.timeout(t): {call}",
    )

    def __init__(self) -> None:
        import aiochannel

        self.closed_errors = (aiochannel.ChannelClosed,)
        self.full_errors = (aiochannel.ChannelFull,)
        self.empty_errors = (aiochannel.ChannelEmpty,)
        super().__init__()

    def make_queue(self, max_size: int = 100, *, overflow: str = "block",
                   event_emitter: EventEmitter | None = None) -> Any:
        """An :class:`AiochannelQueue` (call it with the event loop running: Channel binds
        the current loop); ``event_emitter`` is unused (aiochannel has no events)."""
        self.check_overflow(overflow)
        return AiochannelQueue(max_size)
