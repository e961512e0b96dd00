"""Benchmarks: speed and cost ratios measured side by side in one process.

Every comparison is measured in the same process, interleaved round by round (A, B, C, A,
B, C, ...), so that machine noise falls on all contenders alike. Each contender is first
calibrated (with warm-up) to a work size that takes about ``target_ms`` of wall time; each
round then measures every contender once. Reported values are medians over the rounds and
each ratio is the median of the per-round paired ratios (numerator and denominator
measured back to back in the same round).

Benchmarks (``--only`` takes these names):

- ``queue_single``: ChunkQueue (max_size 100, monitor on, no emitter), 1 producer / 1
  consumer, items/s, vs ``asyncio.Queue(100)`` and vs the peer's ChunkQueue.
- ``queue_batch``: ``put_many``/``get_many`` in batches of 32 vs ``asyncio.Queue`` single-item.
- ``buffer``: StreamingBuffer steady state (20 ms chunks in, 10 ms reads out, 48 kHz stereo
  PCM_16) pre-filled to 200 ms, 2 s, 20 s and 60 s, vs the peer at the same depths, in
  audio-seconds processed per wall second ("x real time").
- ``recorder``: cost per sample of the trace (``mocks.trace.Trace.sent``/``.received``)
  and of the metrics recorder (``harness.metrics``), in ns per sample.
- ``pipeline``: items/s through a ``Pipeline`` of 3 pass-through stages (edges of 100,
  ``block``) vs the same chain written by hand with ``asyncio.Queue(100)`` and one task per
  stage: the cost of the stage loop (statistics, interruption epochs, end of stream).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import inspect
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError
from harness.results import environment
from harness.targets import CapabilityMissing, Target, load_target

__all__ = [
    "BENCHMARKS",
    "BenchConfig",
    "Contender",
    "Goal",
    "run_bench",
]

BENCHMARKS = ("queue_single", "queue_batch", "buffer", "recorder", "pipeline")
BENCH_FORMAT_VERSION = 1
QUEUE_SIZE = 100
BATCH = 32
BUFFER_DEPTHS_MS = (200, 2_000, 20_000, 60_000)
SAMPLE_RATE = 48_000
CHANNELS = 2
CHUNK_MS = 20
READ_MS = 10
PIPELINE_STAGES = 3


@dataclass(frozen=True)
class BenchConfig:
    """How long and how often to measure."""

    rounds: int = 7
    """Measured rounds (odd, so the median is one measurement)."""
    warmup_rounds: int = 1
    """Unrecorded rounds run after calibration."""
    target_ms: float = 100.0
    """Wall time one measurement of one contender should take."""

    @classmethod
    def quick(cls) -> BenchConfig:
        return cls(rounds=3, warmup_rounds=0, target_ms=5.0)


@dataclass
class Contender:
    """One measured thing: ``run(n)`` does ``n`` units of work, returns elapsed ns of them."""

    key: str
    benchmark: str
    label: str
    unit: str
    run: Callable[[int], int]
    per_second: bool = True
    """True: value = n / seconds * scale (higher is better); False: ns per unit."""
    scale: float = 1.0
    start_n: int = 64
    max_n: int = 10_000_000
    n: int = 0
    samples: list[float] = field(default_factory=list)
    elapsed_ns: list[int] = field(default_factory=list)

    def value(self, n: int, elapsed_ns: int) -> float:
        elapsed_ns = max(elapsed_ns, 1)
        if self.per_second:
            return n * self.scale / (elapsed_ns / 1e9)
        return elapsed_ns / n

    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass(frozen=True)
class Goal:
    """A target for a ratio (``ours / reference``) or for an absolute value."""

    benchmark: str
    name: str
    ours: str
    reference: str | None
    op: str  # ">=" or "<="
    threshold: float

    def describe(self) -> str:
        suffix = "x" if self.reference is not None else " ns"
        return f"{self.op} {self.threshold:g}{suffix}"


def _measure(contender: Contender, n: int) -> int:
    gc.collect()
    return contender.run(n)


def _calibrate(contender: Contender, target_ns: float) -> None:
    """Grow ``n`` until one run takes about ``target_ns`` (the runs double as warm-up)."""
    n = contender.start_n
    while True:
        elapsed = _measure(contender, n)
        if elapsed >= target_ns / 2 or n >= contender.max_n:
            break
        grow = 8 if elapsed < target_ns / 16 else 2
        n = min(n * grow, contender.max_n)
    if elapsed > 0:
        n = int(n * target_ns / elapsed)
    contender.n = max(1, min(n, contender.max_n))


def _interleave(contenders: Sequence[Contender], config: BenchConfig) -> None:
    for contender in contenders:
        _calibrate(contender, config.target_ms * 1e6)
    for _ in range(config.warmup_rounds):
        for contender in contenders:
            _measure(contender, contender.n)
    for _ in range(config.rounds):
        for contender in contenders:
            elapsed = _measure(contender, contender.n)
            contender.elapsed_ns.append(elapsed)
            contender.samples.append(contender.value(contender.n, elapsed))


# --- queue workloads -------------------------------------------------------------------

async def _pump_single(put: Callable[[Any], Any], get: Callable[[], Any], n: int) -> int:
    """1 producer / 1 consumer moving ``n`` items one at a time; elapsed ns."""

    async def producer() -> None:
        for i in range(n):
            await put(i)

    async def consumer() -> None:
        for _ in range(n):
            await get()

    start = time.perf_counter_ns()
    await asyncio.gather(producer(), consumer())
    return time.perf_counter_ns() - start


async def _pump_batch(queue: Any, n: int) -> int:
    """1 producer / 1 consumer moving ``n`` items with put_many/get_many of 32; elapsed ns."""
    batches = [list(range(i, min(i + BATCH, n))) for i in range(0, n, BATCH)]
    put_many = queue.put_many
    get_many = queue.get_many

    async def producer() -> None:
        for batch in batches:
            await put_many(batch)

    async def consumer() -> None:
        received = 0
        while received < n:
            received += len(await get_many(BATCH))

    start = time.perf_counter_ns()
    await asyncio.gather(producer(), consumer())
    return time.perf_counter_ns() - start


def _queue_contender(
    runner: asyncio.Runner, key: str, benchmark: str, label: str,
    make: Callable[[], Any], batch: bool = False,
) -> Contender:
    def run(n: int) -> int:
        queue = make()
        if batch:
            return runner.run(_pump_batch(queue, n))
        return runner.run(_pump_single(queue.put, queue.get, n))

    return Contender(key=key, benchmark=benchmark, label=label, unit="items/s", run=run,
                     start_n=256)


def _make_target_queue(target: Target) -> Callable[[], Any]:
    """A factory for the target's queue: max_size 100, monitor on (where optional), no emitter."""
    make = target.make_queue
    if "monitor" in inspect.signature(make).parameters:
        return lambda: make(QUEUE_SIZE, monitor=True)
    return lambda: make(QUEUE_SIZE)


# --- buffer workload --------------------------------------------------------------------

def _frame_bytes() -> int:
    return CHANNELS * 2


def _bytes_for(ms: int) -> int:
    return SAMPLE_RATE * ms // 1000 * _frame_bytes()


def _buffer_contender(target: Target, who: str, depth_ms: int) -> Contender:
    chunk_bytes = _bytes_for(CHUNK_MS)
    pattern = bytes(range(256)) * (chunk_bytes // 256 + 1)
    chunk = target.make_chunk(pattern[:chunk_bytes], sample_rate=SAMPLE_RATE,
                              channels=CHANNELS, fmt="pcm_16")
    max_ms = depth_ms * 1.25 + 1_000
    buffer = target.make_buffer(target_duration_ms=min(depth_ms, 100), max_duration_ms=max_ms,
                                sample_rate=SAMPLE_RATE, channels=CHANNELS, fmt="pcm_16")
    for _ in range(depth_ms // CHUNK_MS):
        buffer.add_chunk(chunk)
    expected = _bytes_for(depth_ms)

    def run(n: int) -> int:
        add = buffer.add_chunk
        read = buffer.read
        start = time.perf_counter_ns()
        for _ in range(n):
            add(chunk)
            read(READ_MS)
            read(READ_MS)
        elapsed = time.perf_counter_ns() - start
        level = round(buffer.duration_ms * SAMPLE_RATE / 1000) * _frame_bytes()
        if level != expected:
            raise HarnessError(
                f"bench buffer[{who}, {depth_ms} ms]: depth drifted to {buffer.duration_ms} ms; "
                "the workload is not steady state"
            )
        return elapsed

    depth = f"{depth_ms / 1000:g} s" if depth_ms >= 1000 else f"{depth_ms} ms"
    return Contender(
        key=f"buffer.{who}.{depth_ms}", benchmark="buffer",
        label=f"StreamingBuffer {depth} ({target.name})", unit="x real time", run=run,
        scale=CHUNK_MS / 1000, start_n=16,
    )


# --- recorder workload ------------------------------------------------------------------

def _recorder_contenders() -> list[Contender]:
    contenders: list[Contender] = []
    try:
        trace_mod = importlib.import_module("mocks.trace")
    except ModuleNotFoundError:
        trace_mod = None
    if trace_mod is not None and hasattr(trace_mod, "Trace"):
        trace_cls = trace_mod.Trace

        def run_sent(n: int) -> int:
            sent = trace_cls().sent
            start = time.perf_counter_ns()
            for i in range(n):
                sent(0, i, i, i, i, "queued")
            return time.perf_counter_ns() - start

        def run_received(n: int) -> int:
            received = trace_cls().received
            start = time.perf_counter_ns()
            for i in range(n):
                received(0, 0, i, i)
            return time.perf_counter_ns() - start

        contenders += [
            Contender(key="recorder.trace_sent", benchmark="recorder", label="Trace.sent",
                      unit="ns/sample", run=run_sent, per_second=False, start_n=1024),
            Contender(key="recorder.trace_received", benchmark="recorder",
                      label="Trace.received", unit="ns/sample", run=run_received,
                      per_second=False, start_n=1024),
        ]
    recorder = _metrics_recorder()
    if recorder is not None:
        name, factory = recorder

        def run_record(n: int) -> int:
            record = factory().record
            start = time.perf_counter_ns()
            for i in range(n):
                record(i + 1)
            return time.perf_counter_ns() - start

        contenders.append(Contender(
            key="recorder.metrics_record", benchmark="recorder", label=f"{name}.record",
            unit="ns/sample", run=run_record, per_second=False, start_n=1024,
        ))
    return contenders


def _metrics_recorder() -> tuple[str, Callable[[], Any]] | None:
    """The latency recorder class of ``harness.metrics`` (no-argument constructor, record())."""
    try:
        metrics = importlib.import_module("harness.metrics")
    except ModuleNotFoundError:
        return None
    for name in getattr(metrics, "__all__", ()):
        obj = getattr(metrics, name, None)
        if not inspect.isclass(obj) or not callable(getattr(obj, "record", None)):
            continue
        try:
            obj()
        except TypeError:
            continue
        return name, obj
    return None


# --- pipeline workloads ----------------------------------------------------------------

async def _pass(item: Any) -> Any:
    return item


async def _through_pipeline(module: Any, n: int) -> int:
    """``n`` items through a ``Pipeline`` of pass-through stages; elapsed ns."""
    stages = [module.Stage(f"s{k}", _pass, max_size=QUEUE_SIZE)
              for k in range(PIPELINE_STAGES)]
    pipeline = module.Pipeline(stages, output_size=QUEUE_SIZE)
    start = time.perf_counter_ns()
    pipeline.start()

    async def feed() -> None:
        put = pipeline.put
        for i in range(1, n + 1):
            await put(i)
        await pipeline.close(timeout=60)

    async def drain() -> None:
        get = pipeline.get
        while await get() is not None:
            pass

    await asyncio.gather(feed(), drain())
    return time.perf_counter_ns() - start


async def _through_asyncio_chain(n: int) -> int:
    """The same chain by hand: ``asyncio.Queue``s, one task per stage, None ends it."""
    queues: list[asyncio.Queue[Any]] = [asyncio.Queue(QUEUE_SIZE)
                                        for _ in range(PIPELINE_STAGES + 1)]

    async def stage(inbox: asyncio.Queue[Any], outbox: asyncio.Queue[Any]) -> None:
        while True:
            item = await inbox.get()
            if item is None:
                await outbox.put(None)
                return
            await outbox.put(await _pass(item))

    start = time.perf_counter_ns()
    tasks = [asyncio.ensure_future(stage(queues[k], queues[k + 1]))
             for k in range(PIPELINE_STAGES)]

    async def feed() -> None:
        put = queues[0].put
        for i in range(1, n + 1):
            await put(i)
        await put(None)

    async def drain() -> None:
        get = queues[-1].get
        while await get() is not None:
            pass

    await asyncio.gather(feed(), drain(), *tasks)
    return time.perf_counter_ns() - start


def _pipeline_contenders(ours: Target, runner: asyncio.Runner) -> list[Contender]:
    module = getattr(ours, "module", None)
    if not hasattr(module, "Pipeline") or not hasattr(module, "Stage"):
        raise CapabilityMissing("pipeline", ours.name)
    return [
        Contender(key="pipeline.ours", benchmark="pipeline",
                  label=f"Pipeline, {PIPELINE_STAGES} stages ({ours.name})", unit="items/s",
                  run=lambda n: runner.run(_through_pipeline(module, n)), start_n=256),
        Contender(key="pipeline.asyncio", benchmark="pipeline",
                  label=f"asyncio.Queue chain by hand, {PIPELINE_STAGES} stages",
                  unit="items/s", run=lambda n: runner.run(_through_asyncio_chain(n)),
                  start_n=256),
    ]


# --- assembly -------------------------------------------------------------------------

def _goals() -> list[Goal]:
    return [
        Goal("queue_single", "ChunkQueue vs asyncio.Queue", "queue_single.ours",
             "queue_single.asyncio", ">=", 1.0),
        Goal("queue_single", "ChunkQueue vs peer ChunkQueue", "queue_single.ours",
             "queue_single.peer", ">=", 2.5),
        Goal("queue_batch", "put_many/get_many(32) vs asyncio.Queue", "queue_batch.ours",
             "queue_batch.asyncio", ">=", 3.0),
        Goal("buffer", "StreamingBuffer 60 s vs 200 ms depth", "buffer.ours.60000",
             "buffer.ours.200", ">=", 0.8),
        Goal("buffer", "StreamingBuffer 20 s vs peer 20 s", "buffer.ours.20000",
             "buffer.peer.20000", ">=", 10.0),
        Goal("recorder", "Trace.sent cost", "recorder.trace_sent", None, "<=", 1000.0),
        Goal("recorder", "Trace.received cost", "recorder.trace_received", None, "<=", 1000.0),
        Goal("recorder", "metrics recorder cost", "recorder.metrics_record", None, "<=", 1000.0),
        Goal("pipeline", "Pipeline stage loop vs asyncio.Queue chain by hand", "pipeline.ours",
             "pipeline.asyncio", ">=", 0.75),
    ]


def _build(
    benchmark: str, ours: Target, peer: Target | None, runner: asyncio.Runner,
) -> list[Contender]:
    if benchmark == "queue_single":
        contenders = [
            _queue_contender(runner, "queue_single.ours", benchmark,
                             f"ChunkQueue ({ours.name})", _make_target_queue(ours)),
            _queue_contender(runner, "queue_single.asyncio", benchmark, "asyncio.Queue",
                             lambda: asyncio.Queue(QUEUE_SIZE)),
        ]
        if peer is not None:
            contenders.append(_queue_contender(
                runner, "queue_single.peer", benchmark, f"ChunkQueue ({peer.name})",
                _make_target_queue(peer)))
        return contenders
    if benchmark == "queue_batch":
        if not ours.capabilities.batch:
            raise CapabilityMissing("batch", ours.name)
        return [
            _queue_contender(runner, "queue_batch.ours", benchmark,
                             f"ChunkQueue put_many/get_many({BATCH}) ({ours.name})",
                             _make_target_queue(ours), batch=True),
            _queue_contender(runner, "queue_batch.asyncio", benchmark,
                             "asyncio.Queue single-item", lambda: asyncio.Queue(QUEUE_SIZE)),
        ]
    if benchmark == "buffer":
        contenders = [_buffer_contender(ours, "ours", d) for d in BUFFER_DEPTHS_MS]
        if peer is not None:
            contenders += [_buffer_contender(peer, "peer", d) for d in BUFFER_DEPTHS_MS]
        return contenders
    if benchmark == "recorder":
        return _recorder_contenders()
    if benchmark == "pipeline":
        return _pipeline_contenders(ours, runner)
    raise HarnessError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")


def _paired_ratio(num: Contender, den: Contender) -> float:
    ratios = [a / b for a, b in zip(num.samples, den.samples, strict=True) if b > 0]
    return statistics.median(ratios) if ratios else float("nan")


def _evaluate(goal: Goal, by_key: dict[str, Contender]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "benchmark": goal.benchmark, "name": goal.name, "goal": goal.describe(),
        "ours_key": goal.ours, "reference_key": goal.reference,
        "ours": None, "reference": None, "ratio": None, "met": None, "unit": None,
    }
    ours = by_key.get(goal.ours)
    if ours is None:
        row["note"] = "not measured"
        return row
    row["ours"] = ours.median()
    row["unit"] = ours.unit
    if goal.reference is None:
        value = row["ours"]
    else:
        ref = by_key.get(goal.reference)
        if ref is None:
            row["note"] = "reference not measured"
            return row
        row["reference"] = ref.median()
        value = row["ratio"] = _paired_ratio(ours, ref)
    row["met"] = value >= goal.threshold if goal.op == ">=" else value <= goal.threshold
    return row


def run_bench(
    *, only: Sequence[str] = (), quick: bool = False, target: str = "stageflow_core",
    peer: str | None = "stageflow", config: BenchConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmarks and return the ``{"bench": {...}}`` document.

    :raises HarnessError: unknown benchmark name or unloadable ``target``. A peer that
        cannot be imported is reported (``peer: null`` and a note) and its contenders
        skipped; a benchmark the target lacks a capability for is skipped with a note.
    """
    unknown = [name for name in only if name not in BENCHMARKS]
    if unknown:
        raise HarnessError(
            f"unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}"
        )
    selected = [name for name in BENCHMARKS if not only or name in only]
    config = config or (BenchConfig.quick() if quick else BenchConfig())
    ours = load_target(target)
    notes: list[str] = []
    peer_target: Target | None = None
    if peer:
        try:
            peer_target = load_target(peer)
        except HarnessError as exc:
            notes.append(f"peer skipped: {exc}")
    contenders: list[Contender] = []
    with asyncio.Runner() as runner:
        for benchmark in selected:
            if progress is not None:
                progress(benchmark)
            try:
                group = _build(benchmark, ours, peer_target, runner)
            except CapabilityMissing as exc:
                notes.append(f"{benchmark} skipped: {exc}")
                continue
            if not group:
                notes.append(f"{benchmark} skipped: nothing to measure in this build")
                continue
            _interleave(group, config)
            contenders += group
    by_key = {c.key: c for c in contenders}
    goals = [_evaluate(g, by_key) for g in _goals()
             if g.benchmark in selected]
    return {
        "bench": {
            "version": BENCH_FORMAT_VERSION,
            "quick": quick,
            "rounds": config.rounds,
            "target_ms": config.target_ms,
            "environment": environment(),
            "targets": {
                "ours": {"name": ours.name, "version": ours.version},
                "peer": (None if peer_target is None
                         else {"name": peer_target.name, "version": peer_target.version}),
            },
            "measurements": [
                {"key": c.key, "benchmark": c.benchmark, "label": c.label, "unit": c.unit,
                 "n": c.n, "median": c.median(), "min": min(c.samples),
                 "max": max(c.samples), "samples": c.samples}
                for c in contenders
            ],
            "goals": goals,
            "notes": notes,
        }
    }
