"""``anyio``: a memory object stream (a send stream and a receive stream) as the queue.

``put``/``put_nowait`` call the send stream's ``send``/``send_nowait``, ``get``/
``get_nowait``/``async for`` the receive stream's, ``close()`` closes the send stream (the
producer side ends the stream: receivers drain the buffer, then get ``EndOfStream``),
``len()`` is ``statistics().current_buffer_used``. anyio warns about a stream never closed;
the adapter closes both ends once the queue object itself is garbage (nobody can use it).
"""

from __future__ import annotations

import weakref
from typing import Any

from harness.contract import Declaration, Semantics
from harness.targets.base import Adapter, Capabilities, EventEmitter, LibraryCode

__all__ = ["AnyioQueue", "AnyioTarget"]

_WHERE = "anyio/streams/memory.py"


def _close_both(send: Any, receive: Any) -> None:
    send.close()
    receive.close()


class AnyioQueue:
    """One memory object stream pair in the harness's queue API: each method calls one
    stream method and returns what it returns."""

    __slots__ = ("__weakref__", "_finalizer", "natives", "receive_stream", "send_stream")

    def __init__(self, max_size: int) -> None:
        import anyio

        self.send_stream, self.receive_stream = send, receive = (
            anyio.create_memory_object_stream(max_size))
        self.natives = ((send, {"send": "put", "send_nowait": "put_nowait"}),
                        (receive, {"receive": "get", "receive_nowait": "get_nowait"}))
        self._finalizer = weakref.finalize(self, _close_both, send, receive)

    async def put(self, item: Any) -> Any:
        return await self.send_stream.send(item)

    def put_nowait(self, item: Any) -> Any:
        return self.send_stream.send_nowait(item)

    async def get(self) -> Any:
        return await self.receive_stream.receive()

    def get_nowait(self) -> Any:
        return self.receive_stream.receive_nowait()

    def close(self) -> Any:
        return self.send_stream.close()

    def __len__(self) -> int:
        return self.receive_stream.statistics().current_buffer_used

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        return await self.receive_stream.__anext__()


class AnyioTarget(Adapter):
    """anyio's memory object streams (queue part only)."""

    name = "anyio"
    distribution = "anyio"
    parts = frozenset({"queue"})
    capabilities = Capabilities(put_nowait=True, iterate=True, events=False)
    semantics = Semantics([
        Declaration("queue.closed_put", "raise",
                    where=f"{_WHERE}, MemoryObjectSendStream.send docstring",
                    quote=":raises ~anyio.ClosedResourceError: if this send stream has been "
                          "closed"),
        Declaration("queue.end_of_stream", "raise",
                    where=f"{_WHERE}, MemoryObjectReceiveStream.receive_nowait docstring",
                    quote=":raises ~anyio.EndOfStream: if the buffer is empty and this "
                          "stream has been closed from the sending end"),
        Declaration("queue.close_delivers_pending", True,
                    where=f"{_WHERE}, MemoryObjectReceiveStream.receive_nowait docstring",
                    quote="EndOfStream: if the buffer is empty and this stream has been "
                          "closed from the sending end"),
        Declaration("queue.close_wakes_getters", True,
                    where="anyio/abc/_streams.py, UnreliableObjectReceiveStream.receive "
                          "docstring",
                    quote=":raises ~anyio.EndOfStream: if this stream has been closed from "
                          "the other end"),
        Declaration("queue.close_wakes_putters", True,
                    where=f"{_WHERE}, MemoryObjectSendStream.close",
                    quote="An event remaining on this set signals that its item was never ... "
                          "delivered, and send() will raise ClosedResourceError"),
        Declaration("queue.close_idempotent", True,
                    where=f"{_WHERE}, MemoryObjectSendStream.close",
                    quote="if not self._closed: (a second close does nothing)"),
        Declaration("queue.none_item", "data",
                    where=f"{_WHERE}, MemoryObjectSendStream.send docstring",
                    quote=":param item: the item to send (any object)"),
        Declaration("queue.overflow_policies", frozenset({"block"}),
                    where=f"{_WHERE}, MemoryObjectSendStream.send docstring",
                    quote="If the buffer is full, this method blocks until there is again "
                          "room in the buffer or the item can be sent directly to a "
                          "receiver."),
        Declaration("queue.full_put", "block",
                    where=f"{_WHERE}, MemoryObjectSendStream.send docstring",
                    quote="If the buffer is full, this method blocks until there is again "
                          "room in the buffer or the item can be sent directly to a "
                          "receiver."),
        Declaration("queue.zero_size", "unbuffered",
                    where="anyio/_core/_streams.py, create_memory_object_stream docstring",
                    quote=":param max_buffer_size: number of items held in the buffer until "
                          "``send()`` starts blocking (0, the default: every send waits for "
                          "a receiver)"),
        Declaration("queue.drop_events", False,
                    where="anyio/_core/_streams.py, create_memory_object_stream",
                    quote="cls, max_buffer_size: float = 0, item_type: object = None "
                          "(no event hook)"),
        Declaration("queue.blocked_events", False,
                    where="anyio/_core/_streams.py, create_memory_object_stream",
                    quote="cls, max_buffer_size: float = 0, item_type: object = None "
                          "(no event hook)"),
    ])
    library = LibraryCode(
        imports="import anyio",
        make="send, receive = anyio.create_memory_object_stream({max_size})",
        calls={"put": "await send.send({item})", "put_nowait": "send.send_nowait({item})",
               "get": "await receive.receive()", "get_nowait": "receive.receive_nowait()",
               "close": "send.close()", "len": "receive.statistics().current_buffer_used",
               "anext": "await receive.__anext__()"},
        errors={"closed": "(anyio.ClosedResourceError, anyio.BrokenResourceError, "
                          "anyio.EndOfStream)",
                "end": "anyio.EndOfStream", "full": "anyio.WouldBlock",
                "empty": "anyio.WouldBlock"},
        queue="MemoryObjectSendStream/MemoryObjectReceiveStream",
        bound_wait="with anyio.fail_after(t): {call}",
    )

    def __init__(self) -> None:
        import anyio

        self.end_errors = (anyio.EndOfStream,)
        self.closed_errors = (anyio.ClosedResourceError, anyio.BrokenResourceError,
                              anyio.EndOfStream)
        self.full_errors = (anyio.WouldBlock,)
        self.empty_errors = (anyio.WouldBlock,)
        super().__init__()

    def make_queue(self, max_size: int = 100, *, overflow: str = "block",
                   event_emitter: EventEmitter | None = None) -> Any:
        """An :class:`AnyioQueue`; ``event_emitter`` is unused (anyio has no events)."""
        self.check_overflow(overflow)
        return AnyioQueue(max_size)
