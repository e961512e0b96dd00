"""The context a scenario runs with: :class:`RunContext`, the runner's implementation of
:class:`scenarios.context.ScenarioContext`, and what it reads from a target's parts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any

import numpy as np
import psutil

from harness.contract import Level, Semantics
from harness.defects import parse_keys
from harness.invariants import Expectations, Verdict, clause_level
from harness.runner.entry_metrics import _empty_metrics
from harness.runner.seeds import derive_seed
from harness.soak import SoakMonitor
from harness.targets import Target
from mocks.trace import Trace
from scenarios.context import PARTS, SLO_KEYS
from scenarios.registry import ScenarioSpec

__all__ = [
    "RSS_EVERY",
    "SAMPLE_INTERVAL_S",
    "RunContext",
    "buffer_level_ms",
    "target_semantics",
]

SAMPLE_INTERVAL_S = 0.001
RSS_EVERY = 20  # RSS is sampled every RSS_EVERY loop-lag samples (~20 ms)


class RunContext:
    """The runner's implementation of :class:`scenarios.context.ScenarioContext`."""

    def __init__(self, *, spec: ScenarioSpec, target: Target, params: Mapping[str, Any],
                 quick: bool, seed: int, deadline_ns: int) -> None:
        self.name = spec.name
        self.spec = spec
        self.target = target
        self.params = dict(params)
        self.quick = quick
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.trace = Trace()
        self.deadline_ns = deadline_ns
        self.expectations = Expectations(semantics=target_semantics(target))
        self.tasks: list[tuple[asyncio.Task[Any], bool]] = []
        self.notes: dict[str, Any] = {}
        self.verdicts: list[Verdict] = []
        self.skipped: list[dict[str, str]] = []
        self.invalid_reasons: list[str] = []
        self.slo_values: dict[str, Any] = {}
        self.measurements: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, Any] = {}
        self.buffers: dict[str, Any] = {}
        self.main_task: asyncio.Task[Any] | None = None
        self.memory_monitor: SoakMonitor | None = None

    # identity and randomness
    def seed_for(self, label: str) -> int:
        return derive_seed(self.seed, label)

    def remaining_s(self) -> float:
        return max(0.0, (self.deadline_ns - time.perf_counter_ns()) / 1e9)

    # tasks
    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str,
              may_fail: bool = False) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append((task, may_fail))
        return task

    # what the scenario tells the harness
    def note(self, key: str, value: Any) -> None:
        self.notes[str(key)] = value

    def expect(self, name: str, passed: bool, detail: str = "", *,
               hypotheses: tuple[str, ...] = (),
               defects: Iterable[tuple[str, str, str]] = (),
               level: str = Level.UNIVERSAL, clause: str | None = None) -> None:
        try:
            keys = parse_keys(defects)
            judged = Level(level) if clause is None else clause_level(self.semantics, clause)
        except ValueError as exc:
            raise ValueError(f"expect({name!r}): {exc}") from None
        self.verdicts.append(Verdict(str(name), bool(passed), " ".join(str(detail).split()),
                                     hypotheses=tuple(hypotheses), defects=keys,
                                     level=judged, clause=clause))

    @property
    def semantics(self) -> Semantics:
        return self.expectations.semantics

    def declares(self, clause: str, value: Any = True) -> bool:
        return self.semantics.value(clause) == value

    def closed(self, name: str = "queue") -> None:
        if name not in self.queues:
            raise ValueError(f"closed({name!r}): no watched queue of that name "
                             f"(watched: {', '.join(self.queues) or 'none'})")
        self.expectations.closed.setdefault(name, time.perf_counter_ns())

    def skip(self, capability: str, reason: str = "") -> None:
        # a part the target does not have (a queue-only library's buffer) is no shortcoming
        record = _skip_record(str(capability), str(reason))
        if record not in self.skipped:
            self.skipped.append(record)

    def invalid(self, reason: str) -> None:
        self.invalid_reasons.append(str(reason))

    def slo(self, **values: float | int | None) -> None:
        unknown = sorted(set(values) - set(SLO_KEYS))
        if unknown:
            raise ValueError(f"unknown SLO keys {unknown}; known: {list(SLO_KEYS)}")
        self.slo_values.update(values)

    def measure(self, group: str, values: Mapping[str, Any]) -> None:
        if group in _empty_metrics() or not str(group).isidentifier():
            raise ValueError(f"measure({group!r}): not a free metrics group name")
        self.measurements.setdefault(str(group), {}).update(values)

    def watch_queue(self, queue: Any, *, max_size: int | None, name: str = "queue") -> None:
        self.queues[name] = queue
        self.expectations.queues[name] = max_size

    def watch_buffer(self, buffer: Any, *, max_ms: float | None, name: str = "buffer") -> None:
        self.buffers[name] = buffer
        self.expectations.buffers[name] = max_ms

    def expect_frames(self, frame_bytes: int, *, series: str = "read_bytes") -> None:
        if frame_bytes < 1:
            raise ValueError(f"frame_bytes must be >= 1, got {frame_bytes}")
        self.expectations.frames[series] = int(frame_bytes)

    def sends_into_buffer(self) -> None:
        self.expectations.chunk_identity = False

    def bound_latency(self, p99_ms: float) -> None:
        if not p99_ms > 0:
            raise ValueError(f"p99_ms must be > 0, got {p99_ms}")
        self.expectations.latency_p99_ms = float(p99_ms)

    def bound_memory(self, max_growth_bytes: int) -> None:
        if max_growth_bytes < 0:
            raise ValueError(f"max_growth_bytes must be >= 0, got {max_growth_bytes}")
        self.expectations.memory_growth_limit = int(max_growth_bytes)

    def expect_flat_memory(self, duration_s: float) -> None:
        if self.memory_monitor is not None:
            raise RuntimeError("expect_flat_memory() called twice in one scenario")
        if not duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {duration_s}")
        if SoakMonitor.watching:  # a soak (run --duration) judges memory_trend already
            return
        self.memory_monitor = SoakMonitor(float(duration_s))
        self.memory_monitor.start()

    # harness side
    def sample_once(self, process: psutil.Process | None, now: int) -> None:
        trace = self.trace
        for name, queue in self.queues.items():
            with contextlib.suppress(Exception):
                trace.sample(f"queue_depth.{name}", len(queue), now)
        for name, buffer in self.buffers.items():
            level = buffer_level_ms(buffer)
            if level is not None:
                trace.sample(f"buffer_ms.{name}", level, now)
        if process is not None:
            with contextlib.suppress(psutil.Error):
                trace.sample("rss_bytes", process.memory_info().rss, now)

    async def sampler(self) -> None:
        """Loop lag (oversleep of a 1 ms sleep), queue depth and buffer level every ~1 ms,
        RSS every ~20 ms."""
        process = psutil.Process()
        self.sample_once(process, time.perf_counter_ns())
        tick = 0
        while True:
            before = time.perf_counter_ns()
            await asyncio.sleep(SAMPLE_INTERVAL_S)
            now = time.perf_counter_ns()
            lag_ms = (now - before) / 1e6 - 1e3 * SAMPLE_INTERVAL_S
            self.trace.sample("loop_lag_ms", max(0.0, lag_ms), now)
            tick += 1
            self.sample_once(process if tick % RSS_EVERY == 0 else None, now)


def buffer_level_ms(buffer: Any) -> float | None:
    """A buffer's level in ms: ``current_ms`` where the target has it, else ``duration_ms``."""
    for attr in ("current_ms", "duration_ms"):
        try:
            value = getattr(buffer, attr)
            value = value() if callable(value) else value
            return float(value)
        except Exception:
            continue
    return None


def _skip_record(capability: str, reason: str) -> dict[str, str]:
    """An entry of ``skipped``: what was missing and why. A missing *part* (a queue-only
    library's buffer, ``buffer`` or ``part:buffer``) also says ``part``: it is no shortcoming
    of the target, and findings file no improvement for it."""
    record = {"capability": capability, "reason": reason}
    part = capability.removeprefix("part:")
    if part in PARTS:  # duplex too: a queue library lacks no audio session
        record["part"] = part
    return record


def target_semantics(target: Any) -> Semantics:
    """What ``target`` declares (its ``semantics`` attribute), or nothing."""
    semantics = getattr(target, "semantics", None)
    return semantics if isinstance(semantics, Semantics) else Semantics()


def _reported_drops(queue: Any) -> int | None:
    """Items the queue's own counters say it dropped, when it has such a counter."""
    counts = []
    with contextlib.suppress(Exception):
        counts.append(int(queue.statistics().dropped))
    with contextlib.suppress(Exception):
        counts.append(int(queue.monitor.stats.dropped_items))
    return max(counts) if counts else None


def _reported_peak(queue: Any) -> int | None:
    peaks = []
    with contextlib.suppress(Exception):
        peaks.append(int(queue.statistics().peak_size))
    with contextlib.suppress(Exception):
        peaks.append(int(queue.monitor.stats.max_queue_size))
    return max(peaks) if peaks else None
