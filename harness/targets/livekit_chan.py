"""``livekit``: livekit-agents' ``utils.aio.Chan`` as the queue.

Every method calls one of the channel's: ``put``/``put_nowait`` call ``send``/
``send_nowait``, ``get``/``get_nowait`` call ``recv``/``recv_nowait``, ``close``,
``async for``; ``len()`` is ``qsize()``.

``Chan`` lives in one module of the standard library only
(``livekit/agents/utils/aio/channel.py``), but ``import livekit.agents`` pulls in the whole
agents framework (~65 distributions, ~400 MB: grpc, opentelemetry, av, openai...). The
adapter therefore loads that one file, unchanged, from the installed livekit-agents
distribution, so ``pip install --no-deps livekit-agents`` is enough (the full install works
too); a module already imported the normal way is used as it is.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from types import ModuleType
from typing import Any

from harness.contract import Declaration, Semantics
from harness.targets.base import Adapter, Capabilities, EventEmitter, LibraryCode
from harness.targets.channel_side import ChannelQueue

__all__ = ["CHANNEL_FILE", "LivekitQueue", "LivekitTarget", "load_channel_module"]

DISTRIBUTION = "livekit-agents"
CHANNEL_FILE = "livekit/agents/utils/aio/channel.py"
MODULE = "livekit.agents.utils.aio.channel"
_WHERE = f"{CHANNEL_FILE} (Chan has no docstrings: its code is its statement)"
_loaded: ModuleType | None = None


def load_channel_module() -> ModuleType:
    """livekit-agents' ``channel`` module (the normal import if done, else the file).

    :raises ModuleNotFoundError: livekit-agents is not installed.
    """
    global _loaded
    module = sys.modules.get(MODULE) or _loaded
    if module is not None:
        return module
    try:
        path = importlib.metadata.distribution(DISTRIBUTION).locate_file(CHANNEL_FILE)
    except importlib.metadata.PackageNotFoundError:
        raise ModuleNotFoundError(f"No module named {MODULE!r}", name=MODULE) from None
    spec = importlib.util.spec_from_file_location("stageflow_stress_livekit_channel", path)
    if spec is None or spec.loader is None or not path.is_file():  # type: ignore[union-attr]
        raise ModuleNotFoundError(f"{DISTRIBUTION} has no {CHANNEL_FILE}", name=MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _loaded = module
    return module


class LivekitQueue(ChannelQueue):
    """One ``Chan`` in the harness's queue API: put and get are its send and recv."""

    __slots__ = ()

    def __init__(self, max_size: int, module: ModuleType) -> None:
        super().__init__(module.Chan(max_size), {"send": "put", "send_nowait": "put_nowait",
                                                 "recv": "get", "recv_nowait": "get_nowait"})

    async def put(self, item: Any) -> Any:
        return await self.native.send(item)

    def put_nowait(self, item: Any) -> Any:
        return self.native.send_nowait(item)

    async def get(self) -> Any:
        return await self.native.recv()

    def get_nowait(self) -> Any:
        return self.native.recv_nowait()


class LivekitTarget(Adapter):
    """livekit-agents' Chan (queue part only)."""

    name = "livekit"
    distribution = DISTRIBUTION
    parts = frozenset({"queue"})
    capabilities = Capabilities(put_nowait=True, iterate=True, events=False)
    semantics = Semantics([
        Declaration("queue.closed_put", "raise", where=f"{_WHERE}, Chan.send_nowait",
                    quote="if self._close_ev.is_set(): raise ChanClosed"),
        Declaration("queue.end_of_stream", "raise", where=f"{_WHERE}, Chan.recv_nowait",
                    quote="if self.empty(): if self._close_ev.is_set(): raise ChanClosed"),
        Declaration("queue.close_delivers_pending", True, where=f"{_WHERE}, Chan.recv",
                    quote="while self.empty() and not self._close_ev.is_set(): ... "
                          "return self.recv_nowait()"),
        Declaration("queue.close_wakes_putters", True, where=f"{_WHERE}, Chan.close",
                    quote="while self._puts: ... putter.set_exception(ChanClosed())"),
        Declaration("queue.close_wakes_getters", True, where=f"{_WHERE}, Chan.close",
                    quote="while len(self._gets) > self.qsize(): ... "
                          "getter.set_exception(ChanClosed())"),
        Declaration("queue.none_item", "data", where=f"{_WHERE}, Chan.send",
                    quote="async def send(self, value: T) -> None"),
        Declaration("queue.overflow_policies", frozenset({"block"}),
                    where=f"{_WHERE}, Chan.send",
                    quote="while self.full() and not self._close_ev.is_set(): ... await p"),
        Declaration("queue.full_put", "block",
                    where=f"{_WHERE}, Chan.send",
                    quote="while self.full() and not self._close_ev.is_set(): ... await p"),
        Declaration("queue.validates_config", False, where=f"{_WHERE}, Chan.__init__",
                    quote="self._maxsize = max(maxsize, 0)"),
        Declaration("queue.zero_size", "unbounded", where=f"{_WHERE}, Chan.full",
                    quote="if self._maxsize <= 0: return False (never full: unbounded)"),
        Declaration("queue.drop_events", False, where=f"{_WHERE}, Chan.__init__",
                    quote="maxsize: int = 0, loop: asyncio.AbstractEventLoop | None = None, "
                          "(no event hook)"),
        Declaration("queue.blocked_events", False, where=f"{_WHERE}, Chan.__init__",
                    quote="maxsize: int = 0, loop: asyncio.AbstractEventLoop | None = None, "
                          "(no event hook)"),
    ])
    library = LibraryCode(
        imports=(
            "try:\n"
            "    from livekit.agents.utils.aio import Chan, ChanClosed, ChanEmpty, ChanFull\n"
            "except ImportError:  # livekit-agents installed without its dependencies\n"
            "    import importlib.metadata, importlib.util\n"
            "    _path = importlib.metadata.distribution('livekit-agents').locate_file(\n"
            f"        {CHANNEL_FILE!r})\n"
            "    _spec = importlib.util.spec_from_file_location('channel', _path)\n"
            "    _channel = importlib.util.module_from_spec(_spec)\n"
            "    _spec.loader.exec_module(_channel)\n"
            "    Chan, ChanClosed = _channel.Chan, _channel.ChanClosed\n"
            "    ChanEmpty, ChanFull = _channel.ChanEmpty, _channel.ChanFull"
        ),
        make="q = Chan({max_size})",
        calls={"put": "await q.send({item})", "put_nowait": "q.send_nowait({item})",
               "get": "await q.recv()", "get_nowait": "q.recv_nowait()", "close": "q.close()",
               "len": "q.qsize()", "anext": "await q.__anext__()"},
        errors={"closed": "ChanClosed", "end": "ChanClosed", "full": "ChanFull",
                "empty": "ChanEmpty"},
        queue="livekit.agents.utils.aio.Chan",
        bound_wait="async with asyncio.timeout(t): {call}",
    )

    def __init__(self) -> None:
        self.channel = channel = load_channel_module()
        self.closed_errors = (channel.ChanClosed,)
        self.full_errors = (channel.ChanFull,)
        self.empty_errors = (channel.ChanEmpty,)
        super().__init__()

    def make_queue(self, max_size: int = 100, *, overflow: str = "block",
                   event_emitter: EventEmitter | None = None) -> Any:
        """A :class:`LivekitQueue` (call it with the event loop running: Chan binds the
        current loop); ``event_emitter`` is unused (Chan has no events)."""
        self.check_overflow(overflow)
        return LivekitQueue(max_size, self.channel)
