"""capacity: how much a target's queue and buffer can carry, measured closed-loop and
normalised by an ``asyncio.Queue`` measured in the same rounds.

Open-loop scenarios offer load far below what a queue can carry, so a slower implementation
changes nothing in them but its service time. This scenario measures the headroom itself:

- **Queue, closed loop.** One producer puts as fast as the queue accepts (blocking put,
  never dropping), one consumer gets as fast as it can, ``n`` items per pump (a few ms).
  Each round pumps the target and a bare ``asyncio.Queue`` of the same size ``slices``
  times each, alternating, and keeps the fastest pump of each side (time stolen by other
  processes on a shared CPU only ever adds time, so the fastest is the least disturbed);
  the order alternates between rounds. ``queue_ratio`` is the median over rounds of target
  items/s / reference items/s: a number that does not depend on the machine's speed. Every item must
  arrive exactly once and in order; ``queue_p99_ms`` is the P99 time an item spent between
  its put and its get.
- **Load curve.** Open-loop load at fractions of the measured closed-loop rate (each item
  has an intended send time; latency is measured from it, coordinated omission corrected).
  Each point records offered and delivered rate, P50/P99 latency and losses. The
  *sustainable* rate is the highest offered rate with nothing lost, at least 95 % of it
  delivered and P99 within ``p99_limit_ms``; the *knee* is the first rate that fails.
- **Buffer at depth.** ``StreamingBuffer`` steady state (20 ms chunks in, two 10 ms reads
  out, 48 kHz stereo) pre-filled to ``buffer_depth_ms`` and to 200 ms, interleaved with the
  reference queue: ``buffer_ratio`` = deep-buffer cycles/s / reference items/s and
  ``buffer_depth_ratio`` = deep / shallow cycles/s (1.0 for a ring buffer, whose cost does
  not grow with depth).

Everything is recorded under ``metrics.capacity`` with the per-round values in
``metrics.capacity.samples``, which the gate uses as its units. A target without a buffer
is measured for its queue only (the buffer part is listed as skipped).
"""

from __future__ import annotations

import asyncio
import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["capacity"]

_CLOCK = time.perf_counter_ns
_MIN_ITEMS = 64
_MAX_ITEMS = 200_000
_SHALLOW_MS = 200
_SAMPLE_RATE = 48_000
_CHANNELS = 2
_CHUNK_MS = 20
_READ_MS = 10


class _Pumped:
    """One pump: elapsed ns, per-item latencies (ns) and how many items came out wrong."""

    __slots__ = ("elapsed_ns", "latencies", "received", "wrong")

    def __init__(self, elapsed_ns: int, latencies: list[int], received: int,
                 wrong: int) -> None:
        self.elapsed_ns = max(1, elapsed_ns)
        self.latencies = latencies
        self.received = received
        self.wrong = wrong


async def _pump(queue: Any, n: int, interval_ns: float = 0.0) -> _Pumped:
    """Move ``n`` integers through ``queue``: closed loop when ``interval_ns`` is 0, else
    open loop at one item per ``interval_ns`` (latency from each item's intended time)."""
    stamps = [0] * n
    latencies = [0] * n
    counts = {"received": 0, "wrong": 0}
    put, get = queue.put, queue.get

    async def producer(start: int) -> None:
        for i in range(n):
            if interval_ns:
                due = start + int(i * interval_ns)
                now = _CLOCK()
                if due > now:
                    await asyncio.sleep((due - now) / 1e9)
                stamps[i] = due
            else:
                stamps[i] = _CLOCK()
            await put(i)

    async def consumer() -> None:
        wrong = 0
        for expected in range(n):
            item = await get()
            latencies[expected] = _CLOCK() - stamps[item] if isinstance(item, int) else 0
            if item != expected:
                wrong += 1
        counts["received"] = n
        counts["wrong"] = wrong

    start = _CLOCK()
    await asyncio.gather(producer(start), consumer())
    return _Pumped(_CLOCK() - start, latencies, counts["received"], counts["wrong"])


def _nearest_rank(values: Sequence[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1])


class _NoGC:
    """Keep the collector off while a pump is timed (both sides alike); each part of the
    scenario collects once before it starts."""

    def __enter__(self) -> None:
        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            gc.enable()


def _calibrate(measure: Callable[[int], int], slice_ns: float) -> int:
    """Cycles for one slice of about ``slice_ns`` (the calibration runs warm the code up)."""
    n = _MIN_ITEMS
    elapsed = measure(n)
    while elapsed < slice_ns / 4 and n < _MAX_ITEMS:
        n = min(_MAX_ITEMS, n * 4)
        elapsed = measure(n)
    return int(min(_MAX_ITEMS, max(_MIN_ITEMS, n * slice_ns / max(elapsed, 1))))


async def _queue_part(ctx: ScenarioContext, reference: Callable[[], Any]) -> dict[str, Any]:
    p = ctx.params
    make = ctx.target.make_queue

    def target() -> Any:
        return make(p["max_size"])

    async def timed(factory: Callable[[], Any], n: int) -> _Pumped:
        with _NoGC():
            return await _pump(factory(), n)

    gc.collect()  # once per part: a collection costs milliseconds in a large process
    n = _MIN_ITEMS  # calibrated on the target: a slow one must not make a round last long
    pumped = await timed(target, n)
    slice_ns = p["slice_ms"] * 1e6
    while pumped.elapsed_ns < slice_ns / 4 and n < _MAX_ITEMS:
        n = min(_MAX_ITEMS, n * 4)
        pumped = await timed(target, n)
    n = int(min(_MAX_ITEMS, max(_MIN_ITEMS, n * slice_ns / pumped.elapsed_ns)))
    ratios: list[float] = []
    target_cps: list[float] = []
    reference_cps: list[float] = []
    latencies: list[int] = []
    wrong = missing = 0
    for r in range(p["rounds"]):
        best = {"target": 0, "reference": 0}
        order = ("target", "reference") if r % 2 == 0 else ("reference", "target")
        for _ in range(p["slices"]):
            for who in order:
                got = await timed(target if who == "target" else reference, n)
                if best[who] == 0 or got.elapsed_ns < best[who]:
                    best[who] = got.elapsed_ns
                if who == "target":
                    wrong += got.wrong
                    missing += n - got.received
                    latencies += got.latencies
        target_cps.append(n / (best["target"] / 1e9))
        reference_cps.append(n / (best["reference"] / 1e9))
        ratios.append(best["reference"] / best["target"])
    ctx.expect("capacity_delivers_all", wrong == 0 and missing == 0,
               f"closed loop: {p['rounds'] * p['slices']} pumps of {n} items, {missing} "
               f"missing, {wrong} out of order or duplicated", hypotheses=("H6",),
               defects=[("ChunkQueue", "put/get (closed loop)", "fifo")] if wrong else [])
    return {
        "items_per_slice": n,
        "queue_cps": round(statistics.median(target_cps), 1),
        "reference_cps": round(statistics.median(reference_cps), 1),
        "queue_ratio": round(statistics.median(ratios), 4),
        "queue_p99_ms": round(_nearest_rank(latencies, 99.0) / 1e6, 4),
        "samples": {"queue_ratio": [round(v, 4) for v in ratios],
                    "queue_cps": [round(v, 1) for v in target_cps]},
    }


async def _curve(ctx: ScenarioContext, capacity_cps: float) -> dict[str, Any]:
    p = ctx.params
    gc.collect()
    points: list[dict[str, Any]] = []
    sustainable: float | None = None
    knee: float | None = None
    for fraction in p["curve"]:
        offered = fraction * capacity_cps
        n = max(_MIN_ITEMS, int(offered * p["step_ms"] / 1000))
        with _NoGC():
            pumped = await _pump(ctx.target.make_queue(p["max_size"]), n, 1e9 / offered)
        delivered = pumped.received / (pumped.elapsed_ns / 1e9)
        p50 = _nearest_rank(pumped.latencies, 50.0) / 1e6
        p99 = _nearest_rank(pumped.latencies, 99.0) / 1e6
        lost = n - pumped.received + pumped.wrong
        ok = lost == 0 and delivered >= 0.95 * offered and p99 <= p["p99_limit_ms"]
        points.append({"fraction": fraction, "offered_cps": round(offered, 1),
                       "delivered_cps": round(delivered, 1), "p50_ms": round(p50, 4),
                       "p99_ms": round(p99, 4), "lost": lost, "sustainable": ok})
        if ok and knee is None:
            sustainable = offered
        elif not ok and knee is None:
            knee = offered
    return {"curve": points, "sustainable_cps": None if sustainable is None
            else round(sustainable, 1), "knee_cps": None if knee is None else round(knee, 1)}


def _buffer_cycle(ctx: ScenarioContext, depth_ms: int) -> Callable[[int], int]:
    """``run(n)``: n steady-state cycles (add 20 ms, read 10 ms twice); elapsed ns."""
    target = ctx.target
    frame = _CHANNELS * 2
    chunk_bytes = _SAMPLE_RATE * _CHUNK_MS // 1000 * frame
    pattern = bytes(range(256)) * (chunk_bytes // 256 + 1)
    chunk = target.make_chunk(pattern[:chunk_bytes], sample_rate=_SAMPLE_RATE,
                              channels=_CHANNELS, fmt="pcm_16")
    buffer = target.make_buffer(target_duration_ms=min(depth_ms, 100),
                                max_duration_ms=depth_ms * 1.25 + 1_000,
                                sample_rate=_SAMPLE_RATE, channels=_CHANNELS, fmt="pcm_16")
    for _ in range(depth_ms // _CHUNK_MS):
        buffer.add_chunk(chunk)

    def run(n: int) -> int:
        add, read = buffer.add_chunk, buffer.read
        with _NoGC():
            start = _CLOCK()
            for _ in range(n):
                add(chunk)
                read(_READ_MS)
                read(_READ_MS)
            return _CLOCK() - start

    return run


async def _buffer_part(ctx: ScenarioContext, reference: Callable[[], Any],
                       reference_n: int) -> dict[str, Any] | None:
    p = ctx.params
    try:
        deep = _buffer_cycle(ctx, int(p["buffer_depth_ms"]))
        shallow = _buffer_cycle(ctx, _SHALLOW_MS)
    except Exception as exc:  # a queue-only target, or one without these formats
        capability = getattr(exc, "capability", None)
        if capability is None and not isinstance(exc, (AttributeError, NotImplementedError)):
            raise
        ctx.skip(str(capability or "buffer"), f"buffer capacity not measured: {exc}")
        return None
    gc.collect()
    n = _calibrate(deep, p["slice_ms"] * 1e6)
    shallow(n)
    depth_ratios: list[float] = []
    buffer_ratios: list[float] = []
    cycles: list[float] = []
    for r in range(p["rounds"]):
        best = {"deep": 0, "shallow": 0, "reference": 0}
        order = ("deep", "shallow", "reference") if r % 2 == 0 else (
            "reference", "shallow", "deep")
        for _ in range(p["slices"]):
            for who in order:
                if who == "reference":
                    with _NoGC():
                        elapsed = (await _pump(reference(), reference_n)).elapsed_ns
                else:
                    elapsed = (deep if who == "deep" else shallow)(n)
                if best[who] == 0 or elapsed < best[who]:
                    best[who] = elapsed
        deep_cps = n / (best["deep"] / 1e9)
        cycles.append(deep_cps)
        depth_ratios.append(best["shallow"] / best["deep"])
        buffer_ratios.append(deep_cps / (reference_n / (best["reference"] / 1e9)))
    return {
        "buffer_depth_ms": p["buffer_depth_ms"],
        "buffer_cycles_per_s": round(statistics.median(cycles), 1),
        "buffer_x_real_time": round(statistics.median(cycles) * _CHUNK_MS / 1000, 1),
        "buffer_ratio": round(statistics.median(buffer_ratios), 5),
        "buffer_depth_ratio": round(statistics.median(depth_ratios), 4),
        "samples": {"buffer_ratio": [round(v, 5) for v in buffer_ratios],
                    "buffer_depth_ratio": [round(v, 4) for v in depth_ratios]},
    }


@scenario(
    name="capacity",
    category="performance",
    hypotheses=("H6", "H7"),
    quick={"rounds": 9, "slices": 3, "slice_ms": 4.0, "max_size": 100, "p99_limit_ms": 5.0,
           "curve": [0.25, 0.5, 0.75, 0.9, 1.0, 1.2], "step_ms": 40.0,
           "buffer_depth_ms": 5_000, "deadline_s": 30.0},
    full={"rounds": 21, "slices": 3, "slice_ms": 10.0, "max_size": 100, "p99_limit_ms": 5.0,
          "curve": [0.1, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2], "step_ms": 250.0,
          "buffer_depth_ms": 20_000, "deadline_s": 60.0},
    positive=("rounds", "slices", "slice_ms", "max_size", "p99_limit_ms", "step_ms",
              "buffer_depth_ms", "deadline_s"),
    suites=("capacity",),
)
async def capacity(ctx: ScenarioContext) -> None:
    """Closed-loop capacity of the queue and of the buffer at depth, each normalised by an
    asyncio.Queue measured in the same rounds, and the latency-versus-offered-load curve
    with its knee: a slower implementation shows here even where open-loop load does not
    reach it."""
    p = ctx.params
    if not all(0 < f <= 10 for f in p["curve"]):
        raise ValueError(f"curve fractions must be in (0, 10], got {p['curve']}")

    def reference() -> Any:
        return asyncio.Queue(p["max_size"])

    queue = await _queue_part(ctx, reference)
    ctx.measure("capacity", queue)
    curve = await _curve(ctx, queue["queue_cps"])
    sustainable = curve["sustainable_cps"]
    curve["sustainable_ratio"] = (None if sustainable is None
                                  else round(sustainable / queue["reference_cps"], 4))
    ctx.measure("capacity", curve)
    buffer = await _buffer_part(ctx, reference, queue["items_per_slice"])
    if buffer is not None:
        samples = {**queue["samples"], **buffer.pop("samples")}
        ctx.measure("capacity", {**buffer, "samples": samples})
