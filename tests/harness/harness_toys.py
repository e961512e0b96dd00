"""Toy targets (one correct, the others deliberately broken) and toy scenarios for the
harness tests. Importing this module registers the ``toy_*`` scenarios; the CLI loads it
with ``--scenarios harness_toys`` and the targets with ``--target harness_toys:<factory>``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from harness.targets import Capabilities, CapabilityMissing
from mocks.consumers import fast_consumer, slow_consumer
from mocks.producers import open_loop_producer, outcome_classifier
from mocks.rates import ConstantRate
from mocks.trace import make_sequence
from scenarios.registry import scenario

SEEN_LOOPS: list[asyncio.AbstractEventLoop] = []
"""Every loop ``toy_loop`` ran on (kept referenced so that identities are not reused)."""

MODES = ("good", "lossy", "duplicate", "reorder", "unbounded", "hang", "silent", "partial",
         "deaf_close")


class ToyClosed(Exception):
    """put() on a closed toy queue."""


@dataclass
class ToyChunk:
    data: bytes
    sample_rate: int
    channels: int
    sequence: int


def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


class ToyQueue:
    """A small bounded queue; ``mode`` breaks exactly one property on purpose."""

    def __init__(self, max_size: int, mode: str, emit: Any) -> None:
        self._items: deque[Any] = deque()
        self._max = max_size
        self._mode = mode
        self._emit = emit or (lambda name, payload: None)
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()
        self._held: Any = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, item: Any) -> bool:
        if self._closed:
            raise ToyClosed("closed")
        while len(self._items) >= self._max and self._mode != "unbounded":
            if self._mode != "silent":
                self._emit("stream.producer_blocked",
                           {"queue_size": len(self._items), "max_size": self._max})
            if self._mode == "hang":
                await asyncio.get_running_loop().create_future()  # never woken: BUG-038
            waiter = asyncio.get_running_loop().create_future()
            self._putters.append(waiter)
            await waiter
            if self._closed:
                raise ToyClosed("closed while waiting")
        seq = item.sequence & 0xFFFF_FFFF
        if self._mode == "lossy" and seq % 10 == 3:
            return True  # vanishes without a word
        if self._mode == "reorder" and seq % 10 == 4:
            self._held = item  # released after the next item
            return True
        self._items.append(item)
        if self._held is not None:
            self._items.append(self._held)
            self._held = None
        if self._mode == "duplicate" and seq % 10 == 3:
            self._items.append(item)
        _wake_one(self._getters)
        return True

    async def get(self) -> Any:
        while not self._items:
            if self._closed:
                return None
            waiter = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            await waiter
        item = self._items.popleft()
        _wake_one(self._putters)
        return item

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        item = self._items.popleft()
        _wake_one(self._putters)
        return item

    async def close(self) -> None:
        self._closed = True
        if self._mode == "deaf_close":
            return  # blocked consumers are never told (Stageflow 0.5.1)
        for waiters in (self._getters, self._putters):
            while waiters:
                waiter = waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)


class ToyBuffer:
    """PCM_16 byte buffer; in ``partial`` mode reads are cut at byte, not frame, precision."""

    def __init__(self, sample_rate: int, channels: int, mode: str) -> None:
        self._data = bytearray()
        self._rate = sample_rate
        self._channels = channels
        self._mode = mode

    def add_chunk(self, chunk: ToyChunk) -> int:
        self._data += chunk.data
        return 0

    def read(self, duration_ms: float) -> bytes:
        frame = 2 * self._channels
        wanted = int(self._rate * frame * duration_ms / 1000)
        if self._mode != "partial":
            wanted -= wanted % frame
        out = bytes(self._data[:wanted])
        del self._data[:wanted]
        return out

    def is_ready(self) -> bool:
        return bool(self._data)

    @property
    def duration_ms(self) -> float:
        return len(self._data) / (2 * self._channels) / self._rate * 1000


class ToyTarget:
    """A target whose queue and buffer misbehave as ``mode`` says."""

    def __init__(self, mode: str = "good", capabilities: Capabilities | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.name = f"toy-{mode}"
        self.version = "0"
        self.mode = mode
        self.capabilities = capabilities or Capabilities()
        self.closed_errors: tuple[type[BaseException], ...] = (ToyClosed,)
        self.full_errors: tuple[type[BaseException], ...] = (asyncio.QueueFull,)

    def make_queue(self, max_size: int = 100, *, overflow: str = "block",
                   event_emitter: Any = None) -> ToyQueue:
        if overflow != "block":
            raise CapabilityMissing(f"overflow:{overflow}", self.name)
        return ToyQueue(max_size, self.mode, event_emitter)

    def make_buffer(self, *, target_duration_ms: float, max_duration_ms: float,
                    sample_rate: int, channels: int, fmt: str = "pcm_16",
                    event_emitter: Any = None) -> ToyBuffer:
        return ToyBuffer(sample_rate, channels, self.mode)

    def make_chunk(self, data: bytes, *, sample_rate: int, channels: int, fmt: str = "pcm_16",
                   timestamp_ms: float = 0.0, sequence: int = 0) -> ToyChunk:
        return ToyChunk(data, sample_rate, channels, sequence)

    def make_duplex(self, **kwargs: Any) -> Any:
        raise CapabilityMissing("duplex", self.name)


def good_target() -> ToyTarget:
    return ToyTarget("good")


def lossy_target() -> ToyTarget:
    return ToyTarget("lossy")


def hanging_target() -> ToyTarget:
    return ToyTarget("hang")


def not_a_target() -> object:
    """A factory with the wrong shape."""
    return object()


# --- toy scenarios ------------------------------------------------------------------------

@scenario(name="toy_stream", category="correctness", hypotheses=("H5",),
          quick={"count": 60, "rate_cps": 2_000.0, "max_size": 8, "consumer_delay_ms": 0.0,
                 "deadline_s": 3.0},
          positive=("count", "rate_cps", "max_size", "deadline_s"))
async def toy_stream(ctx: Any) -> None:
    """One open-loop producer, one consumer, one queue."""
    p = ctx.params
    target = ctx.target
    queue = target.make_queue(p["max_size"], event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"])
    if p["consumer_delay_ms"] > 0:
        consume = slow_consumer(queue, consumer=0, trace=ctx.trace,
                                delay_ms=p["consumer_delay_ms"])
    else:
        consume = fast_consumer(queue, consumer=0, trace=ctx.trace)
    consumer = ctx.spawn(consume, name="consumer-0")

    def make_chunk(producer: int, seq: int) -> ToyChunk:
        return target.make_chunk(b"\0\0" * 16, sample_rate=16_000, channels=1,
                                 sequence=make_sequence(producer, seq))

    await ctx.spawn(open_loop_producer(
        producer=0, count=p["count"], rate=ConstantRate(p["rate_cps"]), make_chunk=make_chunk,
        put=queue.put, trace=ctx.trace, start_ns=time.perf_counter_ns(),
        outcome_of=outcome_classifier(closed_errors=target.closed_errors),
    ), name="producer-0")
    ctx.closed("queue")
    await queue.close()
    await consumer


@scenario(name="toy_close", category="reliability", quick={"consumers": 2, "deadline_s": 1.0})
async def toy_close(ctx: Any) -> None:
    """Consumers wait on an empty queue, then the queue is closed: each must end."""
    queue = ctx.target.make_queue(4, event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=4)
    consumers = [ctx.spawn(fast_consumer(queue, consumer=c, trace=ctx.trace),
                           name=f"consumer-{c}") for c in range(ctx.params["consumers"])]
    for _ in range(5):  # every consumer reaches its get()
        await asyncio.sleep(0)
    ctx.closed("queue")
    await queue.close()
    await asyncio.gather(*consumers)


@scenario(name="toy_frames", category="correctness", hypotheses=("H2",),
          quick={"reads": 10, "read_ms": 10.0, "deadline_s": 2.0})
async def toy_frames(ctx: Any) -> None:
    """22.05 kHz stereo through a buffer; every read must be whole 4-byte frames."""
    buffer = ctx.target.make_buffer(target_duration_ms=0, max_duration_ms=1000,
                                    sample_rate=22_050, channels=2)
    ctx.sends_into_buffer()
    ctx.expect_frames(4, series="read_bytes")
    buffer.add_chunk(ctx.target.make_chunk(b"\0" * 4 * 22_050, sample_rate=22_050, channels=2))
    for _ in range(ctx.params["reads"]):
        ctx.trace.sample("read_bytes", len(buffer.read(ctx.params["read_ms"])))
        await asyncio.sleep(0)


@scenario(name="toy_memory", category="reliability", quick={"mib": 48, "hold_ms": 120.0})
async def toy_memory(ctx: Any) -> None:
    """Holds ``mib`` MiB for a while against a 1 MiB growth bound."""
    ctx.bound_memory(2**20)
    hoard = bytearray(ctx.params["mib"] * 2**20)
    hoard[::4096] = b"\1" * len(hoard[::4096])  # touch every page so it is resident
    await asyncio.sleep(ctx.params["hold_ms"] / 1000)
    ctx.note("held", len(hoard))


@scenario(name="toy_heap_trend", category="reliability",
          quick={"kib_per_s": 512, "duration_s": 1.5, "deadline_s": 10.0})
async def toy_heap_trend(ctx: Any) -> None:
    """Keeps ``kib_per_s`` KiB/s alive (a leak) under the flat-memory check."""
    ctx.expect_flat_memory(ctx.params["duration_s"])
    hoard: list[bytes] = []
    step_s = 0.05
    for _ in range(int(ctx.params["duration_s"] / step_s) + 2):
        hoard.append(bytes(int(ctx.params["kib_per_s"] * 1024 * step_s)))
        await asyncio.sleep(step_s)
    ctx.note("held", sum(len(b) for b in hoard))


@scenario(name="toy_latency", category="performance", hypotheses=("H7",),
          quick={"count": 20, "deadline_s": 2.0})
async def toy_latency(ctx: Any) -> None:
    """Chunks held 5 ms each against a 1 ms P99 bound."""
    ctx.bound_latency(1.0)
    start = time.perf_counter_ns()
    for seq in range(ctx.params["count"]):
        ctx.trace.sent(0, seq, start, start, start, "queued")
        await asyncio.sleep(0.005)
        ctx.trace.received(0, 0, seq, time.perf_counter_ns())


@scenario(name="toy_crash", category="reliability", quick={"deadline_s": 2.0})
async def toy_crash(ctx: Any) -> None:
    """Raises."""
    raise RuntimeError("boom")


@scenario(name="toy_stubborn", category="reliability", quick={"deadline_s": 1.0})
async def toy_stubborn(ctx: Any) -> None:
    """A task that swallows cancellation."""

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    await ctx.spawn(stubborn(), name="stubborn")


@scenario(name="toy_wedge", category="reliability", quick={"deadline_s": 1.0})
async def toy_wedge(ctx: Any) -> None:
    """Never yields to the event loop."""
    while True:
        time.sleep(0.005)


@scenario(name="toy_invalid", category="performance", quick={"deadline_s": 2.0})
async def toy_invalid(ctx: Any) -> None:
    """Says its own run is invalid."""
    ctx.invalid("the generator was told to give up")


@scenario(name="toy_saturated", category="performance",
          quick={"count": 12, "rate_cps": 1_000.0, "busy_ms": 30.0, "deadline_s": 3.0})
async def toy_saturated(ctx: Any) -> None:
    """A producer whose chunk maker hogs the loop, so it cannot keep its schedule."""
    p = ctx.params
    queue = ctx.target.make_queue(10_000, event_emitter=ctx.trace.emitter)
    consumer = ctx.spawn(fast_consumer(queue, consumer=0, trace=ctx.trace), name="consumer")

    def make_chunk(producer: int, seq: int) -> ToyChunk:
        time.sleep(p["busy_ms"] / 1000)
        return ctx.target.make_chunk(b"", sample_rate=16_000, channels=1,
                                     sequence=make_sequence(producer, seq))

    await ctx.spawn(open_loop_producer(
        producer=0, count=p["count"], rate=ConstantRate(p["rate_cps"]), make_chunk=make_chunk,
        put=queue.put, trace=ctx.trace, start_ns=time.perf_counter_ns()), name="producer")
    await queue.close()
    await consumer


@scenario(name="toy_requires", category="reliability", requires=("duplex",),
          quick={"deadline_s": 1.0})
async def toy_requires(ctx: Any) -> None:
    """Needs a duplex session."""
    ctx.target.make_duplex()


@scenario(name="toy_capability", category="reliability", hypotheses=("H1",),
          quick={"deadline_s": 1.0})
async def toy_capability(ctx: Any) -> None:
    """Asks the target for a drop_oldest queue, which toy targets lack."""
    ctx.target.make_queue(4, overflow="drop_oldest")


@scenario(name="toy_loop", category="correctness", quick={"deadline_s": 1.0})
async def toy_loop(ctx: Any) -> None:
    """Notes the identity of the event loop it runs on."""
    SEEN_LOOPS.append(asyncio.get_running_loop())
    ctx.note("seed", ctx.seed)
    ctx.note("first_draw", int(ctx.rng.integers(1 << 30)))


@scenario(name="toy_task_crash", category="reliability", quick={"deadline_s": 3.0})
async def toy_task_crash(ctx: Any) -> None:
    """A watched task raises while the scenario waits for something else."""

    async def worker() -> None:
        await asyncio.sleep(0)
        raise ValueError("worker broke")

    ctx.spawn(worker(), name="worker")
    await asyncio.Event().wait()
