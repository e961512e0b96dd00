"""high_load: many concurrent open-loop producers and consumers; latency must stay bounded."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from mocks.consumers import fast_consumer
from mocks.producers import ProducerReport, open_loop_producer, outcome_classifier
from mocks.rates import JitteredRate
from scenarios._common import chunk_maker, chunk_pool, close_queue, full_probe, queue_policy
from scenarios.context import ScenarioContext
from scenarios.registry import scenario

__all__ = ["high_load"]

_AUDIO = {"sample_rate": 16_000, "channels": 1, "fmt": "pcm_16", "chunk_ms": 20.0}
_START_DELAY_NS = 20_000_000  # let every task reach its first await before the schedule


async def _stream(ctx: ScenarioContext, index: int, make_chunk: Any, start_ns: int,
                  per_producer: int, rate_cps: float) -> list[ProducerReport]:
    p = ctx.params
    target = ctx.target
    policy = queue_policy(target)
    queue = target.make_queue(p["max_size"], overflow=policy, event_emitter=ctx.trace.emitter)
    ctx.watch_queue(queue, max_size=p["max_size"], name=f"stream{index}")
    batch = p["consumer_batch"] if target.capabilities.batch else 0
    consumers = [
        ctx.spawn(fast_consumer(queue, consumer=index * p["consumers_per_stream"] + c,
                                trace=ctx.trace, end_errors=target.closed_errors, batch=batch),
                  name=f"stream{index}-consumer{c}")
        for c in range(p["consumers_per_stream"])
    ]
    put = queue.put
    if target.capabilities.put_timeout:
        put = functools.partial(queue.put, timeout=p["put_timeout_ms"] / 1000.0)
    outcome_of = outcome_classifier(closed_errors=target.closed_errors,
                                    full_errors=target.full_errors)
    full = full_probe(queue, p["max_size"], policy=policy)
    producers = []
    for i in range(p["producers_per_stream"]):
        producer = index * p["producers_per_stream"] + i
        rate = JitteredRate(rate_cps, jitter=p["jitter"], seed=ctx.seed_for(f"rate-{producer}"))
        producers.append(ctx.spawn(open_loop_producer(
            producer=producer, count=per_producer, rate=rate, make_chunk=make_chunk, put=put,
            trace=ctx.trace, start_ns=start_ns, outcome_of=outcome_of, full=full,
        ), name=f"stream{index}-producer{i}"))
    reports = list(await asyncio.gather(*producers))
    await close_queue(queue, ctx=ctx, name=f"stream{index}")
    await asyncio.gather(*consumers)
    return reports


@scenario(
    name="high_load",
    category="performance",
    hypotheses=("H6", "H7"),
    quick={"streams": 2, "producers_per_stream": 2, "consumers_per_stream": 2,
           "rate_cps": 10_000.0, "duration_s": 1.0, "jitter": 0.2, "max_size": 1_000,
           "consumer_batch": 32, "put_timeout_ms": 1_000.0, "p99_limit_ms": 50.0,
           "p99_goal_ms": 5.0, "deadline_s": 8.0},
    full={"streams": 4, "producers_per_stream": 2, "consumers_per_stream": 2,
          "rate_cps": 51_000.0, "duration_s": 5.0, "jitter": 0.2, "max_size": 1_000,
          "consumer_batch": 32, "put_timeout_ms": 1_000.0, "p99_limit_ms": 50.0,
          "p99_goal_ms": 5.0, "deadline_s": 30.0},
    positive=("streams", "producers_per_stream", "consumers_per_stream", "rate_cps",
              "duration_s", "max_size", "consumer_batch", "put_timeout_ms", "p99_limit_ms",
              "deadline_s"),
    suites=("transform007",),
    duration="duration_s",
    requires=("part:queue",),
)
async def high_load(ctx: ScenarioContext) -> None:
    """Open-loop load (full: 51,000 chunks/s offered, so that the delivered rate clears
    50,000) from many producers into several queues, each drained by several consumers:
    nothing lost, P99 latency from the intended send time within the report's 50 ms bound
    (goal: 5 ms), every consumer ends when its queue closes."""
    p = ctx.params
    producers = p["streams"] * p["producers_per_stream"]
    per_producer_cps = p["rate_cps"] / producers
    per_producer = max(1, round(per_producer_cps * p["duration_s"]))
    total = per_producer * producers
    pool = chunk_pool(kind="speech", count=64, seed=ctx.seed_for("signal"), **_AUDIO)
    make_chunk = chunk_maker(ctx.target, pool, **_AUDIO)
    ctx.bound_latency(p["p99_limit_ms"])
    # the queues hold at most streams * max_size chunks; the trace ~100 B per chunk
    ctx.bound_memory(64 * 2**20 + 256 * total + 2 * p["streams"] * p["max_size"] * 1024)
    start_ns = time.perf_counter_ns() + _START_DELAY_NS
    reports = await asyncio.gather(*(
        _stream(ctx, s, make_chunk, start_ns, per_producer, per_producer_cps)
        for s in range(p["streams"])))
    flat = [r for stream in reports for r in stream]
    ctx.note("chunks_scheduled", total)
    ctx.note("offered_cps", p["rate_cps"])
    ctx.note("max_schedule_lag_ms", round(max(r.max_schedule_lag_ms for r in flat), 3))
    ctx.note("max_late_ms", round(max(r.max_late_ms for r in flat), 3))
    ctx.note("consumer_batch", p["consumer_batch"] if ctx.target.capabilities.batch else 1)
