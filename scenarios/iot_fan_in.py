"""iot_fan_in: many sensors into windows through a pipeline whose sink stalls."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mocks._clock import sleep_until
from mocks.trace import make_sequence
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["iot_fan_in"]


@dataclass(frozen=True, slots=True)
class Reading:
    """One sensor reading; ``sequence`` identifies it to the harness and the queues."""

    sensor: int
    t_ms: float
    value: float
    sequence: int


@scenario(
    name="iot_fan_in",
    category="reliability",
    hypotheses=("H1", "H5", "H6"),
    quick={"sensors": 8, "rate_hz": 100.0, "duration_ms": 1000.0, "window_ms": 100.0,
           "max_readings": 128, "stall_at_ms": 300.0, "stall_ms": 300.0, "deadline_s": 10.0},
    full={"sensors": 64, "rate_hz": 100.0, "duration_ms": 10000.0, "window_ms": 100.0,
          "max_readings": 1024, "stall_at_ms": 3000.0, "stall_ms": 1000.0,
          "deadline_s": 40.0},
    requires=("pipeline",),
    suites=("iot",),
    positive=("sensors", "rate_hz", "duration_ms", "window_ms", "max_readings"),
)
async def iot_fan_in(ctx: ScenarioContext) -> None:
    """N sensors (seeded jitter) feed one fan-in pipeline while its sink stalls once:
    every reading ends in exactly one window or is reported dropped, windows do not
    overlap, the input edge stays bounded; latency is reading due -> window stored."""
    p = ctx.params
    make = getattr(ctx.target, "make_fan_in", None)
    if make is None:
        ctx.skip("fan_in", "the target has no fan-in pipeline")
        return
    trace = ctx.trace
    stall = asyncio.Event()
    stall.set()
    windows: list[tuple[float, int]] = []

    async def sink(window: Any) -> None:
        await stall.wait()
        now = time.perf_counter_ns()
        for reading in window.items:
            trace.received(0, reading.sensor, int(reading.sequence % 2**32), now)
        windows.append((window.start_ms, len(window.items)))

    pipeline = make(sink=sink, window_ms=p["window_ms"], time_ms=lambda r: r.t_ms,
                    max_readings=p["max_readings"], event_emitter=trace.emitter)
    ctx.watch_queue(pipeline.input, max_size=p["max_readings"], name="readings")
    pipeline.start()
    t0 = time.perf_counter_ns()
    period_ms = 1000.0 / p["rate_hz"]
    count = int(p["duration_ms"] / period_ms)

    async def sensor(n: int) -> None:
        rng = np.random.default_rng(ctx.seed_for(f"sensor-{n}"))
        offsets = np.arange(count) * period_ms + rng.uniform(0, period_ms / 2, count)
        for k, offset in enumerate(offsets):
            due = t0 + round(float(offset) * 1e6)
            await sleep_until(due)
            reading = Reading(n, float(offset), float(rng.normal()), make_sequence(n, k))
            start = time.perf_counter_ns()
            try:
                await pipeline.put(reading)
                outcome = "queued"
            except Exception:
                outcome = "closed"
            trace.sent(n, k, due, start, time.perf_counter_ns(), outcome)

    async def stall_sink() -> None:
        await sleep_until(t0 + round(p["stall_at_ms"] * 1e6))
        stall.clear()
        await asyncio.sleep(p["stall_ms"] / 1000)
        stall.set()

    sensors = [ctx.spawn(sensor(n), name=f"sensor-{n}") for n in range(p["sensors"])]
    staller = ctx.spawn(stall_sink(), name="sink-stall")
    await asyncio.gather(*sensors, staller)
    report = await pipeline.close(timeout=2.0)
    starts = [start for start, _n in windows]
    ordered = starts == sorted(set(starts))
    ctx.expect("windows_disjoint", ordered,
               f"{len(windows)} windows, starts strictly increasing: {ordered}",
               hypotheses=("H5",))
    ctx.expect("shutdown_drained", report.drained and not report.abandoned,
               f"close drained={report.drained}, cancelled={list(report.cancelled)}, "
               f"took {report.took_ms:.1f} ms", hypotheses=("H5",))
    stats = pipeline.statistics()
    ctx.note("windows", len(windows))
    ctx.note("dropped", {s.name: s.input.dropped for s in stats.stages})
